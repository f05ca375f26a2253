"""Triage throughput: a whole batch in one write against one write per contribution.

Each contribution brings what it does in the steady state: its identification, its scores and
one translation event with 23 languages. The same decoded events go through
``TriageStage.process`` (one multi-get, one ``save_many``: one SQLite transaction, one Redis
round trip) and through ``TriageStage.apply_many`` per contribution (one read and one write
each), on the embedded store and on a real redis-server when one can be started.

    python benchmarks/triage.py [--contributions 2000]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.languages import EU_LANGUAGES
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    LanguageIdentified,
    LanguageResult,
    Score,
    Translation,
)
from pipeline.store.base import QueueStore
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution

BATCH = 500
BODY = "We should plant more trees along the river and build safe cycle lanes. " * 3


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def events_for(count: int) -> list[Any]:
    targets = [lang for lang in EU_LANGUAGES if lang != "en"]
    out: list[Any] = []
    for n in range(count):
        source = ContributionSubmitted(contribution=contribution(n, body=BODY))
        identified = source.derive(
            LanguageIdentified,
            producer="langid",
            contribution=source.contribution,
            language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
            detector="t",
        )
        scored = identified.derive(
            ContributionScored,
            producer="scorer",
            scores=[Score(category=c, value=0.01, model="m") for c in ("toxicity", "insult")],
        )
        translated = identified.derive(
            ContributionTranslated,
            producer="translator",
            source_language="en",
            translations=[
                Translation(field="body", target_language=t, text=BODY, origin="machine")
                for t in targets
            ],
        )
        out += [identified, scored, translated]
    return out


def batched(stage: TriageStage, events: list[Any]) -> None:
    for start in range(0, len(events), BATCH):
        stage.process(events[start : start + BATCH])


def per_contribution(stage: TriageStage, events: list[Any]) -> None:
    for start in range(0, len(events), BATCH):
        groups: dict[str, list[Any]] = {}
        for event in events[start : start + BATCH]:
            groups.setdefault(event.contribution_id, []).append(event)
        for group in groups.values():
            stage.apply_many(group)


def timed(
    store: QueueStore, run: Callable[[TriageStage, list[Any]], None], events: list[Any]
) -> float:
    stage = TriageStage(store)
    started = time.perf_counter()
    run(stage, events)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributions", type=int, default=2000)
    args = parser.parse_args()
    n = args.contributions
    events = events_for(n)
    print(f"CPU: {cpu_name()}; {n} contributions, 3 events each")
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[tuple[str, Callable[[str], QueueStore]]] = [
            ("embedded", lambda name: EmbeddedStore(Path(tmp) / f"{name}.sqlite3"))
        ]
        redis_server = None
        if shutil.which("redis-server"):
            from pipeline.store.redis import RedisStore
            from tests.services import RedisServer

            (Path(tmp) / "redis").mkdir()
            redis_server = RedisServer(Path(tmp) / "redis")
            url = redis_server.url
            stores.append(("redis", lambda name: RedisStore(url, key_prefix=f"{name}:")))
        try:
            for label, open_store in stores:
                one = timed(open_store(f"{label}-one"), per_contribution, events)
                many = timed(open_store(f"{label}-many"), batched, events)
                print(
                    f"{label:8} one write per contribution {n / one:7.0f}/s; "
                    f"one write per batch {n / many:7.0f}/s = {one / many:.2f} x"
                )
        finally:
            if redis_server is not None:
                redis_server.stop()


if __name__ == "__main__":
    main()
