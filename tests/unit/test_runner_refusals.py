"""What the bus refuses never stops a runner: too-large outputs and dead letters, on the real
embedded bus (which refuses records over its limit as Kafka does)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from prometheus_client import REGISTRY

from pipeline.bus.base import MAX_RECORD_BYTES, BusUnavailable, RecordsRefused
from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.schemas import ContributionSubmitted, DeadLetter, LanguageIdentified, LanguageResult
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Runner, Stage, StopFlag, run_until
from tests.conftest import contribution


class BloatStage(Stage):
    """Identifies everything as English; a body asking for it gets a 5 MB output."""

    name: ClassVar[str] = "bloat"
    inputs: ClassVar[tuple[str, ...]] = ("submitted",)
    accepts: ClassVar[tuple[type, ...]] = (ContributionSubmitted,)

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> Stage:
        return cls()

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        return [
            event.derive(
                LanguageIdentified,
                producer=self.name,
                contribution=event.contribution,
                language=LanguageResult(lang="en", confidence=1.0, reliable=True, method="t"),
                detector="x" * 5_000_000 if "bloat" in event.contribution.body else "t",
            )
            for event in events
        ]


def open_bus(settings: Settings, limit: int = MAX_RECORD_BYTES) -> EmbeddedBus:
    bus = EmbeddedBus(settings.data_dir / "bus.sqlite3", max_record_bytes=limit)
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    return bus


def write(settings: Settings, values: list[bytes]) -> None:
    """As another producer with a larger limit could."""
    producer = open_bus(settings, limit=64 * 1024 * 1024).producer()
    for i, value in enumerate(values):
        producer.publish(settings.topic("submitted"), f"k{i}", value)
    producer.flush()
    producer.close()


def submitted(n: int, **overrides: Any) -> bytes:
    return ContributionSubmitted(contribution=contribution(n, **overrides)).to_json()


def letters(bus: EmbeddedBus, settings: Settings) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(r.value) for r in bus.read(settings.topic("deadletter"))]


def identified(bus: EmbeddedBus, settings: Settings) -> set[str]:
    return {
        LanguageIdentified.model_validate_json(r.value).contribution_id
        for r in bus.read(settings.topic("identified"))
    }


def run_all(runner: Runner) -> None:
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)


def test_the_embedded_producer_refuses_records_over_its_limit(settings: Settings) -> None:
    bus = open_bus(settings, limit=1000)
    producer = bus.producer()
    topic = settings.topic("submitted")
    producer.publish(topic, "a", b"small")
    producer.publish(topic, "b", b"x" * 2000)
    producer.publish(topic, "c", b"small too")
    with pytest.raises(RecordsRefused) as refused:
        producer.flush()
    assert list(refused.value.refused) == [1]
    assert "larger than the bus's limit of 1000 bytes" in refused.value.refused[1]
    assert sorted(r.value for r in bus.read(topic)) == [b"small", b"small too"]
    producer.publish(topic, "d", b"x" * 2000)  # positions count from the last flush
    with pytest.raises(RecordsRefused) as again:
        producer.flush()
    assert list(again.value.refused) == [0]


def test_an_output_too_large_dead_letters_its_input(settings: Settings) -> None:
    bus = open_bus(settings)
    write(settings, [submitted(1), submitted(2, body="bloat me please"), submitted(3)])
    runner = Runner(BloatStage(), bus, settings)
    run_all(runner)
    assert identified(bus, settings) == {"decidim-test:c-1", "decidim-test:c-3"}
    (letter,) = letters(bus, settings)
    assert letter.error_type == "processing_failed"
    assert letter.reason.startswith("output too large for the bus (LanguageIdentified)")
    assert letter.contribution_id == "decidim-test:c-2"
    assert json.loads(letter.raw_payload)["contribution"]["body"] == "bloat me please"
    assert runner.lag() == 0
    assert runner.stats.undeliverable == 0
    runner.close()


def test_a_dead_letter_the_bus_refuses_is_counted_and_the_worker_moves_on(
    settings: Settings,
) -> None:
    bus = open_bus(settings, limit=3000)
    write(settings, [submitted(1), b"y" * 2900, submitted(3)])
    runner = Runner(BloatStage(), bus, settings, metrics=True)
    labels = {"stage": BloatStage.name}
    before = REGISTRY.get_sample_value("hemicycle_undeliverable_records_total", labels) or 0
    run_all(runner)
    assert identified(bus, settings) == {"decidim-test:c-1", "decidim-test:c-3"}
    assert letters(bus, settings) == []
    assert runner.stats.undeliverable == 1 and runner.stats.dead_letters == 0
    after = REGISTRY.get_sample_value("hemicycle_undeliverable_records_total", labels)
    assert after == before + 1
    assert runner.lag() == 0
    runner.close()


def test_an_outage_while_flushing_still_stops_before_the_commit(settings: Settings) -> None:
    bus = open_bus(settings)
    write(settings, [submitted(1), b"not json"])
    runner = Runner(BloatStage(), bus, settings)

    def down() -> None:
        raise BusUnavailable("broker down")

    runner.producer.flush = down  # type: ignore[method-assign]
    with pytest.raises(BusUnavailable):
        runner.step(1.0)
    assert runner.lag() == 2
    runner.consumer.close()
