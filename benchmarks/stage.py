"""Shared benchmark helper: throughput of the langid stage inside the worker runner.

Measures what a deployment sees: records polled from the embedded bus, decoded and validated,
their personal fields opened, identified, wrapped in ``LanguageIdentified`` events, sealed,
published, flushed and committed. The input is written as the API and ``hemicycle ingest``
write it: sealed with keys created at submission (``personal_data_protection`` False measures
the stage with plaintext events instead).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.models.langid import LanguageDetector
from pipeline.privacy import sealer_for
from pipeline.schemas import ContributionSubmitted
from pipeline.store import open_store
from pipeline.workers.langid import DEFAULT_CACHE_SIZE, LangidStage
from pipeline.workers.runner import Runner, StopFlag, run_until


def submitted_events(texts: Sequence[str]) -> list[ContributionSubmitted]:
    created = datetime(2026, 11, 20, tzinfo=UTC)
    return [
        ContributionSubmitted(
            contribution={
                "id": f"bench-{n}",
                "platform": "bench",
                "space": "s",
                "kind": "comment",
                "author": f"u-{n % 97}",
                "body": text,
                "created_at": created,
            }
        )
        for n, text in enumerate(texts)
    ]


def measure_langid_stage(
    texts: Sequence[str],
    detector: LanguageDetector,
    *,
    batch: int = 500,
    cache_size: int = DEFAULT_CACHE_SIZE,
    personal_data_protection: bool = True,
) -> dict[str, float]:
    """texts/s of the langid stage end to end on the embedded bus (detector already loaded;
    ``cache_size`` 0 turns the stage's memo of results off)."""
    events = submitted_events(texts)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            partitions=4,
            batch_max_events=batch,
            personal_data_protection=personal_data_protection,
        )
        bus = EmbeddedBus(Path(tmp) / "bus.sqlite3")
        bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
        producer = bus.producer()
        store = open_store(settings)
        sealer = sealer_for(settings, store)
        for event in sealer.seal_many(events):
            producer.publish(settings.topic("submitted"), event.contribution_id, event.to_json())
        producer.flush()
        store.close()
        runner = Runner(LangidStage(detector, cache_size=cache_size), bus, settings)
        started = time.perf_counter()
        run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)
        elapsed = time.perf_counter() - started
        assert runner.stats.outputs == len(events), runner.stats
        detect_s = runner.stats.busy_s
        runner.close()
        bus.close()
    return {
        "stage_texts_per_s": len(events) / elapsed,
        "stage_busy_share": detect_s / elapsed,
    }
