"""Hostile input through `hemicycle ingest` and raw Kafka records: a clear reason for each,
no crash, and every valid contribution still arrives. (The HTTP API has its own suite.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from pipeline.schemas import DeadLetter
from tests.conftest import contribution
from tests.integration.conftest import hemicycle
from tests.integration.test_kafka_redis import open_bus, open_store, topic

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages


def event(**contribution_fields: object) -> bytes:
    return json.dumps(
        {"type": "ContributionSubmitted", "contribution": contribution(1, **contribution_fields)}
    ).encode()


def with_contribution(mutate: Callable[[dict], None]) -> bytes:
    body = {"type": "ContributionSubmitted", "contribution": contribution(1)}
    mutate(body["contribution"])
    return json.dumps(body).encode()


# Raw records on the input topic: key → (value, a fragment the dead-letter reason must contain)
RAW: dict[str, tuple[bytes, str]] = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not"),
    "invalid-utf8": (b'{"type": "ContributionSubmitted", "x": "\xff\xfe"}', "UTF-8"),
    "empty-value": (b"", "not valid JSON"),
    "json-array": (b"[1, 2, 3]", "object"),
    "json-string": (b'"ContributionSubmitted"', "object"),
    "null": (b"null", "object"),
    "truncated": (event()[:-7], "not valid JSON"),
    "no-type": (json.dumps({"contribution": contribution(1)}).encode(), "type"),
    "unknown-type": (json.dumps({"type": "DropAllTables"}).encode(), "unknown event type"),
    "empty-body": (event(body=""), "body is empty"),
    "whitespace-body": (event(body=" \n\t "), "body is empty"),
    "huge-body": (event(body="z" * 60_000), "more than the limit"),
    "wrong-type-version": (event(version="two"), "version"),
    "negative-version": (event(version=-3), "version"),
    "naive-datetime": (event(created_at="2026-11-20T10:00:00"), "created_at"),
    "bad-date": (event(created_at="yesterday"), "created_at"),
    "id-too-long": (event(id="i" * 500), "contribution.id"),
    "bad-kind": (event(kind="<script>"), "contribution.kind"),
    "unknown-field": (with_contribution(lambda c: c.update(admin=True)), "admin"),
    "missing-author": (with_contribution(lambda c: c.pop("author")), "author"),
    "body-object": (event(body={"en": "nested"}), "body"),
    "nested-bomb": (b"[" * 100_000 + b"]" * 100_000, "not"),
}

# Records that are valid and must go through, whatever they contain.
VALID = {
    "script": contribution(
        50, body='<script>alert(1)</script><img src=x onerror="alert(2)"> bike lanes please'
    ),
    "control-chars": contribution(51, body="Bike lanes\x07 and\x1b[31m trees \u202e please."),
    "nul-in-text": contribution(52, body="Parks\x00 and benches for everyone in the district."),
    "unconfigured-language": contribution(
        53, body="公園にもっとベンチが必要です。自転車道も作ってください。"
    ),
    "emoji-only": contribution(54, body="🌳🚲🌳🚲🌳"),
    "rtl": contribution(55, body="نحتاج إلى المزيد من الحدائق في المدينة"),
}


@pytest.mark.slow
def test_raw_kafka_garbage_is_dead_lettered_with_reasons_and_valid_input_arrives(
    kafka_redis_env: dict[str, str],
) -> None:
    env = kafka_redis_env
    submitted = topic(env, "submitted")
    producer = KafkaProducer(
        bootstrap_servers=env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"], max_request_size=4_000_000
    )
    for key, (value, _) in RAW.items():
        producer.send(submitted, key=key.encode(), value=value)
    for key, data in VALID.items():
        value = json.dumps({"type": "ContributionSubmitted", "contribution": data}).encode()
        producer.send(submitted, key=key.encode(), value=value)
    # Out of order and replayed: version 2 first, then version 1, then version 2 again.
    v2 = {"type": "ContributionSubmitted", "event_id": "7b0c7a52-5e3f-4bf3-9d47-2a6f55d2c0a1"}
    v2["contribution"] = contribution(60, version=2, body="Second version: cycle lanes now.")
    v1 = {"type": "ContributionSubmitted", "contribution": contribution(60, body="First one.")}
    for payload in (v2, v1, v2):
        producer.send(submitted, key=b"decidim-test:c-60", value=json.dumps(payload).encode())
    producer.flush()
    producer.close()

    hemicycle(env, "run", "--until-idle")

    letters = [
        DeadLetter.model_validate_json(r.value)
        for r in open_bus(env).read(topic(env, "deadletter"))
    ]
    reasons = {letter.origin.key: letter.reason for letter in letters}
    assert set(reasons) == set(RAW), set(reasons) ^ set(RAW)
    for key, (_, fragment) in RAW.items():
        assert fragment.lower() in reasons[key].lower(), (key, reasons[key])
    assert all(letter.raw_payload or letter.origin.key == "empty-value" for letter in letters)

    store = open_store(env)
    for data in VALID.values():
        item = store.get(f"decidim-test:{data['id']}")
        assert item is not None and item.state != "pending", data["id"]
        assert item.contribution.body == data["body"]  # stored verbatim, rendered as text
    unknown = store.get("decidim-test:c-53")
    assert unknown is not None and unknown.language is not None
    assert unknown.language.lang is None
    assert (unknown.language.reason or "").startswith("unsupported_language:ja")
    latest = store.get("decidim-test:c-60")
    assert latest is not None and latest.version == 2
    assert latest.contribution.body == "Second version: cycle lanes now."


INGEST_LINES: list[tuple[str, str]] = [
    ("{not json", "not valid JSON"),
    ("[]", "expected a JSON object"),
    ('"a string"', "expected a JSON object"),
    ("42", "expected a JSON object"),
    (json.dumps(contribution(1, body="")), "body is empty"),
    (json.dumps(contribution(2, body="   ")), "body is empty"),
    (json.dumps(contribution(3, body="b" * 60_000)), "more than the limit"),
    (json.dumps(contribution(4, version=0)), "version"),
    (json.dumps(contribution(5, created_at="2026-13-45")), "created_at"),
    (json.dumps(contribution(6, created_at="2026-11-20T10:00:00")), "created_at"),
    (json.dumps(contribution(7, platform="")), "platform"),
    (json.dumps(contribution(8, kind="pro posal")), "kind"),
    (json.dumps({**contribution(9), "extra": 1}), "extra"),
    (json.dumps({k: v for k, v in contribution(10).items() if k != "body"}), "body"),
    (json.dumps(contribution(11, author=None)), "author"),
    (json.dumps(contribution(12, title={"en": "x"})), "title"),
    ("[" * 60_000 + "]" * 60_000, "nested too deeply"),
    (json.dumps(contribution(13, body="a\ud800b")), "unpaired UTF-16 surrogate"),
    (json.dumps(contribution(14, version=2**53)), "version"),
    (json.dumps(contribution(15, version=True)), "version: expected an integer, got boolean"),
]


def test_ingest_reports_every_hostile_line_and_keeps_the_valid_ones(
    embedded_env: dict[str, str], tmp_path: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "hostile.jsonl"
    valid = [contribution(100 + n, body=data["body"]) for n, data in enumerate(VALID.values())]
    lines = [line for line, _ in INGEST_LINES] + [json.dumps(v) for v in valid]
    with path.open("wb") as out:
        out.write("\n".join(lines).encode() + b"\n")
        out.write(b'{"id": "\xff\xfe broken utf-8"}\n')
        # Latin-1 bytes in valid JSON: refused, never stored as replacement characters.
        latin1 = json.dumps(contribution(16, body="Café und Kuchen für alle"), ensure_ascii=False)
        out.write(latin1.encode("latin-1") + b"\n")
    result = hemicycle(embedded_env, "ingest", str(path), check=False)
    assert result.returncode == 1
    rejected = [line for line in result.stderr.splitlines() if "rejected" in line]
    assert len(rejected) == len(INGEST_LINES) + 2, result.stderr
    assert sum("not UTF-8" in line for line in rejected) == 2, rejected
    for number, (_, fragment) in enumerate(INGEST_LINES, start=1):
        line = next(r for r in rejected if f":{number}: rejected" in r)
        assert fragment.lower() in line.lower(), (number, line)
    hemicycle(embedded_env, "run", "--until-idle")
    exported = [json.loads(line) for line in hemicycle(embedded_env, "export").stdout.splitlines()]
    assert sorted(r["id"] for r in exported) == sorted(v["id"] for v in valid)
