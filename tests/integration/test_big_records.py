"""Raw records of 1, 5 and 20 MB on the input topic, as any producer could write them: the
language-ID worker dead-letters each as a bounded dead letter with a reason, processes the
valid records after them, exits 0 and commits everything — on Kafka (Tansu) and embedded."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from confluent_kafka import Producer as RdKafkaProducer

from pipeline.bus import open_bus
from pipeline.bus.base import total_lag
from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import Settings
from pipeline.schemas import ContributionSubmitted, DeadLetter, LanguageIdentified
from pipeline.workers.dead_letters import PAYLOAD_BUDGET_BYTES
from tests.conftest import contribution
from tests.integration.conftest import hemicycle

MB = 1_000_000
# key → raw value: random bytes (not UTF-8) and \x01 bytes (UTF-8 that JSON-escapes 6x).
BIG: dict[str, bytes] = {
    f"{kind}-{size}mb": (os.urandom(size * MB) if kind == "random" else b"\x01" * (size * MB))
    for size in (1, 5, 20)
    for kind in ("random", "ctrl")
}


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        **{
            k.removeprefix("HEMICYCLE_").lower(): v
            for k, v in env.items()
            if k[:10] == "HEMICYCLE_"
        }
    )


def valid(n: int) -> bytes:
    body = f"Number {n}: we need more trees, benches and safe cycle lanes along the river."
    return ContributionSubmitted(contribution=contribution(n, body=body)).to_json()


def interleaved() -> list[tuple[str, bytes]]:
    """Each big record followed by a valid one on the same key (same partition)."""
    out: list[tuple[str, bytes]] = []
    for n, (key, value) in enumerate(BIG.items()):
        out += [(key, value), (key, valid(n))]
    return out


def write_kafka(settings: Settings) -> None:
    producer = RdKafkaProducer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "message.max.bytes": 64 * 1024 * 1024,
            "compression.type": "lz4",
        }
    )
    for key, value in interleaved():
        producer.produce(settings.topic("submitted"), key=key.encode(), value=value)
    assert producer.flush(60) == 0


def write_embedded(settings: Settings) -> None:
    """Another producer, without our record limit."""
    bus = EmbeddedBus(settings.data_dir / "bus.sqlite3", max_record_bytes=64 * 1024 * 1024)
    producer = bus.producer()
    for key, value in interleaved():
        producer.publish(settings.topic("submitted"), key, value)
    producer.close()
    bus.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["kafka", "embedded"])
def test_big_raw_records_become_bounded_dead_letters_and_the_worker_moves_on(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = request.getfixturevalue("kafka_redis_env" if kind == "kafka" else "embedded_env")
    settings = settings_of(env)
    bus = open_bus(settings)  # creates the topics
    (write_kafka if kind == "kafka" else write_embedded)(settings)

    hemicycle(env, "run", "--worker", "langid", "--until-idle", timeout=600)

    letters = {}
    for record in bus.read(settings.topic("deadletter")):
        assert len(record.value) < 2 * PAYLOAD_BUDGET_BYTES + 16_384, "dead letter not bounded"
        letter = DeadLetter.model_validate_json(record.value)
        letters[letter.origin.key] = letter
    assert set(letters) == set(BIG)
    for key, raw in BIG.items():
        letter = letters[key]
        assert letter.error_type == "invalid_event"
        assert "exceeds the limit" in letter.reason, letter.reason
        assert letter.payload_truncated
        assert letter.payload_bytes == len(raw)
        assert letter.payload_sha256 == hashlib.sha256(raw).hexdigest()
        assert letter.payload_encoding == ("base64" if key.startswith("random") else "utf-8")
        if letter.payload_encoding == "utf-8":
            assert raw.startswith(letter.raw_payload.encode())
            assert len(json.dumps(letter.raw_payload)) <= PAYLOAD_BUDGET_BYTES + 2

    identified = {
        LanguageIdentified.model_validate_json(r.value).contribution_id
        for r in bus.read(settings.topic("identified"))
    }
    assert identified == {f"decidim-test:c-{n}" for n in range(len(BIG))}
    group = f"{settings.topic_prefix}langid"
    assert total_lag(bus.lag(group, [settings.topic("submitted")])) == 0
    bus.close()
