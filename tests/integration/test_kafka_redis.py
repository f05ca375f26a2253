"""The pipeline on a real Kafka-protocol broker (Tansu) and a real redis-server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from pipeline.bus.base import total_lag
from pipeline.bus.kafka import KafkaBus
from pipeline.config import TOPICS
from pipeline.schemas import DeadLetter, LanguageIdentified
from pipeline.store.redis import RedisStore
from tests.conftest import REPO, contribution
from tests.integration.conftest import hemicycle, log_lines, start, write_contributions


def open_bus(env: dict[str, str]) -> KafkaBus:
    bus = KafkaBus(
        env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"],
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    prefix = env["HEMICYCLE_TOPIC_PREFIX"]
    bus.ensure_topics([prefix + name for name in TOPICS.values()], int(env["HEMICYCLE_PARTITIONS"]))
    return bus


def open_store(env: dict[str, str]) -> RedisStore:
    return RedisStore(env["HEMICYCLE_REDIS_URL"], key_prefix=env["HEMICYCLE_REDIS_KEY_PREFIX"])


def topic(env: dict[str, str], logical: str) -> str:
    return env["HEMICYCLE_TOPIC_PREFIX"] + TOPICS[logical]


def wait_until(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.languages
def test_ingest_run_export_and_rebuild_on_kafka_and_redis(
    kafka_redis_env: dict[str, str], tmp_path: Path
) -> None:
    env = kafka_redis_env
    source = tmp_path / "in.jsonl"
    write_contributions(source, 300)
    hemicycle(env, "ingest", str(source))
    hemicycle(env, "run", "--until-idle")
    before = hemicycle(env, "export").stdout
    rows = [json.loads(line) for line in before.splitlines()]
    assert len(rows) == 300
    assert {row["state"] for row in rows} <= {"needs_review", "auto_hidden"}  # no toxicity model
    assert all(row["reasons"] for row in rows)
    assert len({row["language"] for row in rows}) >= 20

    status = json.loads(hemicycle(env, "status", "--json").stdout)
    assert status["bus"] == "kafka" and status["store"] == "redis"
    assert status["topics"][topic(env, "submitted")] == 300
    assert all(worker["lag"] == 0 for worker in status["workers"].values())
    assert sum(status["queue"].values()) == 300

    refused = hemicycle(env, "rebuild", check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    rebuilt = hemicycle(env, "rebuild", "--yes")
    assert "events into 300 items (0 invalid records skipped)" in rebuilt.stdout
    assert hemicycle(env, "export").stdout == before


@pytest.mark.languages
def test_non_python_producer_flows_through_and_garbage_is_dead_lettered(
    kafka_redis_env: dict[str, str],
) -> None:
    env = kafka_redis_env
    bus = open_bus(env)
    submitted = topic(env, "submitted")
    event = {
        "type": "ContributionSubmitted",
        "contribution": contribution(
            77,
            platform="js-platform",
            body="Trzeba zbudować więcej ścieżek rowerowych w naszym mieście.",
        ),
    }
    # A platform written in Node.js producing with KafkaJS: JSON value, UTF-8 key, headers.
    js = subprocess.run(
        [
            "node",
            str(REPO / "tests" / "interop" / "produce.js"),
            env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"],
            submitted,
            "js-platform:c-77",
        ],
        input=json.dumps(event).encode(),
        capture_output=True,
        timeout=60,
    )
    assert js.returncode == 0, js.stderr.decode()

    producer = KafkaProducer(bootstrap_servers=env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"])
    garbage = {
        "not-json": b"\x00\x01 definitely not json",
        "wrong-schema": json.dumps(
            {"type": "ContributionSubmitted", "contribution": {"id": 5}}
        ).encode(),
        "unknown-type": json.dumps(
            {"type": "ContributionVanished", "contribution_id": "x"}
        ).encode(),
        "oversized": json.dumps(
            {"type": "ContributionSubmitted", "contribution": contribution(9, body="y" * 60_000)}
        ).encode(),
        "too-big-to-parse": b"{" + b" " * 600_000 + b"}",
    }
    for key, value in garbage.items():
        producer.send(submitted, key=key.encode(), value=value)
    producer.flush()
    producer.close()

    hemicycle(env, "run", "--until-idle")
    store = open_store(env)
    item = store.get("js-platform:c-77")
    assert item is not None and item.language_code == "pl" and item.state == "needs_review"
    assert item.scored and item.reasons

    letters = [DeadLetter.model_validate_json(r.value) for r in bus.read(topic(env, "deadletter"))]
    reasons = {letter.origin.key: letter.reason for letter in letters}
    assert set(reasons) == set(garbage)
    assert "not valid JSON" in reasons["not-json"] or "not UTF-8" in reasons["not-json"]
    assert "contribution." in reasons["wrong-schema"]
    assert "unknown event type 'ContributionVanished'" in reasons["unknown-type"]
    assert "contribution.body: body has 60000 characters" in reasons["oversized"]
    assert "exceeds the limit" in reasons["too-big-to-parse"]
    assert all(
        letter.origin.topic == submitted and letter.origin.stage == "langid" for letter in letters
    )
    assert all(letter.raw_payload for letter in letters)


def test_two_langid_processes_split_the_work_one_identification_each(
    kafka_redis_env: dict[str, str], tmp_path: Path
) -> None:
    env = kafka_redis_env
    bus = open_bus(env)
    logs = [tmp_path / "langid-a.log", tmp_path / "langid-b.log"]
    workers = [start(env, "run", "--worker", "langid", log=log) for log in logs]
    try:

        def both_assigned() -> bool:
            owned = []
            for log in logs:
                assigned = [
                    e["partitions"] for e in log_lines(log) if e.get("msg") == "partitions assigned"
                ]
                owned.append(set(assigned[-1]) if assigned else set())
            return all(owned) and not owned[0] & owned[1] and len(owned[0] | owned[1]) == 4

        wait_until(both_assigned, 60, "both workers to own partitions")

        source = tmp_path / "in.jsonl"
        ids = write_contributions(source, 2000)
        hemicycle(env, "ingest", str(source))
        group, inputs = f"{env['HEMICYCLE_TOPIC_PREFIX']}langid", [topic(env, "submitted")]
        wait_until(lambda: total_lag(bus.lag(group, inputs)) == 0, 180, "langid to catch up")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(60) == 0

    outputs = [
        LanguageIdentified.model_validate_json(r.value) for r in bus.read(topic(env, "identified"))
    ]
    # Delivery is at least once: a rebalance (a heartbeat starved on a loaded machine) hands a
    # partition over with its uncommitted batch, which is identified again under the same id.
    distinct = {(o.contribution_id, o.event_id) for o in outputs}
    assert Counter(cid for cid, _ in distinct) == Counter(ids)  # one identification each
    handled = []
    for log in logs:
        stats = [e["stats"]["langid"] for e in log_lines(log) if e.get("msg") == "workers stopped"]
        handled.append(stats[-1]["events"])
    assert all(n > 0 for n in handled), handled
    assert sum(handled) == len(outputs) >= 2000
