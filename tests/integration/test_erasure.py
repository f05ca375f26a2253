"""Erasure in the log of record: after ``hemicycle erase``, an author's texts and id are in no
topic (read raw, from the start), in no store key, in no export — and ``rebuild`` keeps them
erased — while the moderation record (decisions, statements of reasons) stays. On the embedded
pair and on Kafka (Tansu) + Redis.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import redis

from pipeline.api.context import AppContext
from pipeline.bus import open_bus
from pipeline.config import TOPICS
from pipeline.schemas import ModerationDecided, TranslationCorrected
from tests.integration.conftest import hemicycle
from tests.integration.test_rebuild import settings_of, write

PLATFORM = "decidim-erase"
AUTHOR = "author-to-erase-77"
OTHER = "author-who-stays-12"
SECRETS = [AUTHOR, "Quokkaverse", "Zanzibar", "Correction-Wombat", "Latecomer-Axolotl"]


def row(n: int, author: str, body: str, title: str | None = None) -> dict[str, Any]:
    return {
        "id": f"c-{n}",
        "version": 1,
        "platform": PLATFORM,
        "space": "assembly",
        "kind": "proposal",
        "author": author,
        "title": title,
        "body": body,
        "created_at": f"2026-11-2{n}T10:00:00+00:00",
        "locale_hint": "en",
    }


def everything_in_topics(env: dict[str, str]) -> bytes:
    """Every record of every topic, keys and values, read raw from the start."""
    settings = settings_of(env)
    bus = open_bus(settings)
    try:
        replay = bus.replay([settings.topic(name) for name in TOPICS])
        return b"\n".join((r.key or b"") + b"\t" + r.value for r in replay)
    finally:
        bus.close()


def _redis_value(client: redis.Redis, key: bytes) -> Any:
    kind = client.type(key).decode()
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "zset":
        return client.zrange(key, 0, -1)
    if kind == "set":
        return client.smembers(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    return kind


def everything_in_store(env: dict[str, str]) -> str:
    """Every key and value of the store (Redis) or every row of its SQLite files."""
    settings = settings_of(env)
    if settings.store == "redis":
        client = redis.Redis.from_url(env["HEMICYCLE_REDIS_URL"])
        out = []
        for key in client.scan_iter(match=env["HEMICYCLE_REDIS_KEY_PREFIX"] + "*", count=1000):
            out.append(f"{key!r} {_redis_value(client, key)!r}")
        return "\n".join(out)
    out = []
    for path in Path(settings.data_dir).glob("store*.sqlite3"):
        db = sqlite3.connect(path)
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            out += [repr(r) for r in db.execute(f'SELECT * FROM "{table}"')]
        db.close()
    return "\n".join(out)


def items(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    lines = hemicycle(env, "export", "--full").stdout.splitlines()
    return {json.loads(x)["contribution"]["id"]: json.loads(x) for x in lines}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("pair", ["embedded", "kafka_redis"])
def test_an_erased_author_is_nowhere_and_the_moderation_record_stays(
    pair: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{pair}_env")
    settings = settings_of(env)
    write(
        tmp_path / "in.jsonl",
        [
            row(1, AUTHOR, "The Quokkaverse plan: more trees along the river.", "Zanzibar lanes"),
            row(2, AUTHOR, "Buy Quokkaverse pills now, best prices in town!"),
            row(3, OTHER, "We should build safe cycle lanes to every school."),
        ],
    )
    hemicycle(env, "ingest", str(tmp_path / "in.jsonl"))
    hemicycle(env, "run", "--until-idle")
    context = AppContext(settings)
    first, spam = f"{PLATFORM}:c-1", f"{PLATFORM}:c-2"
    context.publish(
        [
            ModerationDecided(
                contribution_id=spam,
                contribution_version=1,
                decision="reject",
                moderator="ana",
                reason_code="spam",
                statement="Advertising.",
                seen_decisions=0,
            ),
            TranslationCorrected(
                contribution_id=first,
                contribution_version=1,
                field="body",
                target_language="de",
                text="Der Correction-Wombat Plan: mehr Bäume am Fluss.",
                translator="tina",
                source_language="en",
                source_text="The Quokkaverse plan: more trees along the river.",
            ),
        ]
    )
    context.close()
    hemicycle(env, "run", "--until-idle")
    before = items(env)
    assert before["c-2"]["state"] == "rejected" and before["c-2"]["statements"]
    assert "Quokkaverse" in before["c-1"]["contribution"]["body"]  # readable until erased
    raw = everything_in_topics(env)
    assert b"Quokkaverse" not in raw and AUTHOR.encode() not in raw  # sealed from the start
    assert b"cycle lanes" not in raw  # every author's texts are sealed

    unknown = hemicycle(
        env, "erase", "--platform", PLATFORM, "--author", "nobody", "--yes", check=False
    )
    assert unknown.returncode == 1 and "nothing was erased" in unknown.stderr
    erased = hemicycle(env, "erase", "--platform", PLATFORM, "--author", AUTHOR, "--yes")
    assert sorted(erased.stdout.split()) == [first, spam]
    again = hemicycle(env, "erase", "--platform", PLATFORM, "--author", AUTHOR, "--yes")
    assert again.stdout == erased.stdout  # idempotent: the same events
    # A contribution of the erased author arriving afterwards is erased on arrival.
    write(tmp_path / "late.jsonl", [row(4, AUTHOR, "Latecomer-Axolotl says hello to everyone.")])
    hemicycle(env, "ingest", str(tmp_path / "late.jsonl"))
    hemicycle(env, "run", "--until-idle")

    after = items(env)
    for cid in ("c-1", "c-2", "c-4"):
        contribution = after[cid]["contribution"]
        assert (contribution["body"], contribution["author"]) == ("[erased]", "[erased]"), cid
    assert after["c-1"]["erased_at"] is not None
    assert all(t["text"] == "[erased]" for t in after["c-1"]["translations"])
    # What stays: that they existed, decisions, reasons, statements of reasons, the others.
    assert after["c-2"]["state"] == "rejected"
    assert after["c-2"]["decisions"] == before["c-2"]["decisions"]
    assert [s["puid"] for s in after["c-2"]["statements"]] == [
        s["puid"] for s in before["c-2"]["statements"]
    ]
    assert after["c-3"]["contribution"]["body"] == before["c-3"]["contribution"]["body"]

    for where, text in (("topics", everything_in_topics(env).decode("utf-8", "replace")),
                        ("store", everything_in_store(env))):  # fmt: skip
        found = [s for s in SECRETS if s in text]
        assert not found, f"{found} still in the {where}"
    dsa = hemicycle(env, "dsa", "export").stdout
    assert dsa and not [s for s in SECRETS if s in dsa]

    rebuilt = hemicycle(env, "rebuild", "--yes")
    assert "into 4 items" in rebuilt.stdout
    assert items(env) == after  # the erased state, not a resurrection
    assert not [s for s in SECRETS if s in everything_in_store(env)]
