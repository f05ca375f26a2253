"""The runner on the real embedded bus, with small stages of our own."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.schemas import (
    ContributionSubmitted,
    DeadLetter,
    LanguageIdentified,
    LanguageResult,
)
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Runner, Stage, StageError, StopFlag, run_until
from tests.conftest import contribution


class EchoStage(Stage):
    """Identifies everything as English; fails on bodies that ask for it."""

    name: ClassVar[str] = "echo"
    inputs: ClassVar[tuple[str, ...]] = ("submitted",)
    accepts: ClassVar[tuple[type, ...]] = (ContributionSubmitted,)

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.flaky: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> Stage:
        return cls()

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        self.calls.append(len(events))
        out: list[Envelope] = []
        for event in events:
            body = event.contribution.body
            if "poison" in body:
                raise RuntimeError("model exploded")
            if "permanent" in body:
                raise StageError("cannot ever process this")
            if "flaky" in body and self.flaky.setdefault(event.contribution_id, 0) < 2:
                self.flaky[event.contribution_id] += 1
                raise TimeoutError("try again")
            out.append(
                event.derive(
                    LanguageIdentified,
                    producer=self.name,
                    contribution=event.contribution,
                    language=LanguageResult(
                        lang="en", confidence=1.0, reliable=True, method="echo"
                    ),
                    detector="echo",
                )
            )
        return out


@pytest.fixture
def bus(settings: Settings) -> EmbeddedBus:
    bus = EmbeddedBus(settings.data_dir / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    return bus


def publish_raw(bus: EmbeddedBus, settings: Settings, values: list[bytes]) -> None:
    producer = bus.producer()
    for i, value in enumerate(values):
        producer.publish(settings.topic("submitted"), f"k{i}", value)
    producer.flush()


def submitted(n: int, **overrides: Any) -> bytes:
    return ContributionSubmitted(contribution=contribution(n, **overrides)).to_json()


def read(bus: EmbeddedBus, settings: Settings, logical: str) -> list[Any]:
    cls = DeadLetter if logical == "deadletter" else LanguageIdentified
    return [cls.model_validate_json(r.value) for r in bus.read(settings.topic(logical))]


def run_all(runner: Runner) -> None:
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)


def test_outputs_are_published_and_inputs_committed(bus: EmbeddedBus, settings: Settings) -> None:
    publish_raw(bus, settings, [submitted(n) for n in range(20)])
    runner = Runner(EchoStage(), bus, settings)
    run_all(runner)
    outputs = read(bus, settings, "identified")
    assert sorted(o.contribution_id for o in outputs) == sorted(
        f"decidim-test:c-{n}" for n in range(20)
    )
    assert runner.lag() == 0
    assert read(bus, settings, "deadletter") == []
    runner.close()


def test_invalid_records_are_dead_lettered_and_the_rest_flows(
    bus: EmbeddedBus, settings: Settings
) -> None:
    empty = json.dumps({"type": "ContributionSubmitted", "contribution": contribution(9, body=" ")})
    garbage = [b"not json", b"\xff\xfe", json.dumps({"type": "Nope"}).encode(), empty.encode()]
    publish_raw(bus, settings, [submitted(1), *garbage, submitted(2)])
    runner = Runner(EchoStage(), bus, settings)
    run_all(runner)
    assert len(read(bus, settings, "identified")) == 2
    letters = read(bus, settings, "deadletter")
    assert len(letters) == 4
    by_payload = {letter.raw_payload: letter for letter in letters}
    assert "payload is not valid JSON" in by_payload["not json"].reason
    binary = next(letter for letter in letters if letter.payload_encoding == "base64")
    assert "not UTF-8" in binary.reason
    assert any("body is empty" in letter.reason for letter in letters)
    for letter in letters:
        assert letter.error_type == "invalid_event"
        assert letter.origin.stage == "echo"
        assert letter.origin.topic == settings.topic("submitted")
    assert runner.lag() == 0
    runner.close()


def test_a_poison_event_is_retried_then_dead_lettered_alone(
    bus: EmbeddedBus, settings: Settings
) -> None:
    publish_raw(bus, settings, [submitted(1), submitted(2, body="poison pill"), submitted(3)])
    stage = EchoStage()
    runner = Runner(stage, bus, settings)
    run_all(runner)
    assert {o.contribution_id for o in read(bus, settings, "identified")} == {
        "decidim-test:c-1",
        "decidim-test:c-3",
    }
    (letter,) = read(bus, settings, "deadletter")
    assert letter.error_type == "processing_failed"
    assert letter.reason == "RuntimeError: model exploded"
    assert letter.attempts == settings.max_retries + 1
    assert letter.contribution_id == "decidim-test:c-2"
    assert json.loads(letter.raw_payload)["contribution"]["body"] == "poison pill"
    runner.close()


def test_transient_failures_recover_within_the_retry_budget(
    bus: EmbeddedBus, settings: Settings
) -> None:
    publish_raw(bus, settings, [submitted(1, body="flaky network")])
    runner = Runner(EchoStage(), bus, settings)
    run_all(runner)
    assert len(read(bus, settings, "identified")) == 1
    assert read(bus, settings, "deadletter") == []
    assert runner.stats.retries == 2  # fails twice, succeeds on the second retry
    runner.close()


def test_permanent_errors_skip_retries(bus: EmbeddedBus, settings: Settings) -> None:
    publish_raw(bus, settings, [submitted(1, body="permanent damage")])
    runner = Runner(EchoStage(), bus, settings)
    run_all(runner)
    (letter,) = read(bus, settings, "deadletter")
    assert letter.attempts == 1
    assert "StageError" in letter.reason
    runner.close()


def test_retry_backoff_doubles(bus: EmbeddedBus, settings: Settings) -> None:
    publish_raw(bus, settings, [submitted(1, body="poison")])
    slow = settings.model_copy(update={"retry_backoff_ms": 100, "max_retries": 3})
    runner = Runner(EchoStage(), bus, slow)
    sleeps: list[float] = []
    runner.sleep = sleeps.append
    run_all(runner)
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])
    runner.close()


def test_batches_respect_the_size_limit(bus: EmbeddedBus, settings: Settings) -> None:
    publish_raw(bus, settings, [submitted(n) for n in range(25)])
    stage = EchoStage()
    runner = Runner(stage, bus, settings.model_copy(update={"batch_max_events": 10}))
    run_all(runner)
    assert max(stage.calls) <= 10
    assert sum(stage.calls) == 25
    runner.close()


def test_a_crash_before_commit_replays_the_batch(bus: EmbeddedBus, settings: Settings) -> None:
    publish_raw(bus, settings, [submitted(n) for n in range(5)])
    runner = Runner(EchoStage(), bus, settings)
    runner.consumer.commit = lambda offsets=None: (_ for _ in ()).throw(SystemExit("crash"))  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        runner.step(1.0)
    runner.consumer.close()
    replay = Runner(EchoStage(), bus, settings)
    run_all(replay)
    outputs = read(bus, settings, "identified")
    assert len(outputs) == 10  # published twice (at-least-once) …
    assert len({o.contribution_id for o in outputs}) == 5  # … for the same five inputs
    assert len({o.event_id for o in outputs}) == 5  # with the same ids, so consumers dedupe
    replay.close()


def test_stop_flag_ends_the_loop_after_the_current_batch(
    bus: EmbeddedBus, settings: Settings
) -> None:
    publish_raw(bus, settings, [submitted(n) for n in range(30)])
    runner = Runner(EchoStage(), bus, settings.model_copy(update={"batch_max_events": 10}))
    stop = StopFlag()
    run_until([runner], stop, on_round=lambda handled: stop.set())
    assert runner.stats.batches == 1
    assert runner.lag() == 20
    runner.close()
