"""The operations page's figures: the queue over time, the oldest item waiting, decisions per
hour and moderator, throughput per stage, languages coming in, dead letters, unread languages.

**Time series.** What changes over time is sampled once a minute (:data:`SAMPLE_S`) into the
store's cache (namespace ``ops``, one JSON list, at most :data:`MAX_SAMPLES` samples: a day),
so every UI replica draws the same series and a restart keeps it. Each sample holds the item
count per state, the age of the oldest item in review, the records each stage's consumer
group has committed (from the bus, so it holds wherever the workers run; throughput is its
rise per minute) and the records on the dead-letter topic. Without a bus (or while it cannot
be reached) the sample falls back to this process's Prometheus counters. The sampler runs
in the web app (:class:`Sampler`); a page asking for figures also samples when
the last sample is a minute old, so a series starts as soon as someone looks.

Decisions per hour come from the audit log (the last 24 hours), languages from the store's
language index, the unread count from the moderators' languages (:mod:`moderator_ui.routing`).
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from starlette.concurrency import run_in_threadpool

from moderator_ui.accounts import Accounts
from moderator_ui.audit import AuditFilter, AuditLog
from moderator_ui.review import REVIEWABLE
from moderator_ui.routing import readers
from pipeline.bus.base import Bus
from pipeline.config import Settings
from pipeline.languages import EU_LANGUAGES
from pipeline.logs import get_logger
from pipeline.metrics import DEAD_LETTERS, EVENTS_PROCESSED
from pipeline.schemas.queue import QUEUE_STATES
from pipeline.store.base import UNKNOWN_LANGUAGE, QueueQuery, QueueStore, StoreUnavailable
from pipeline.store.namespaces import CacheNamespace
from pipeline.workers import default_workers, stage_class

log = get_logger("ui")
NAMESPACE: CacheNamespace = "ops"
KEY = "samples"
SAMPLE_S = 60
MAX_SAMPLES = 1440
DECISION_HOURS = 24
_BULK_ITEMS = re.compile(r": (\d+) items$")


def _counter_by(counter: Any, label: str) -> dict[str, float]:
    """A labelled Prometheus counter's totals summed by one label."""
    out: dict[str, float] = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = sample.labels.get(label, "")
                out[key] = out.get(key, 0.0) + sample.value
    return out


def _processed_by_stage() -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in EVENTS_PROCESSED.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "ok":
                stage = sample.labels.get("stage", "")
                out[stage] = out.get(stage, 0.0) + sample.value
    return out


def oldest_in_review_s(store: QueueStore, now: datetime) -> float:
    page = store.query(QueueQuery(states=("needs_review",), order="oldest", limit=1))
    if not page.items:
        return 0.0
    return max(0.0, (now - page.items[0].contribution.created_at).total_seconds())


def stage_progress(bus: Bus, settings: Settings) -> dict[str, float]:
    """Records each stage's consumer group has committed, all its input partitions summed."""
    out: dict[str, float] = {}
    for name in default_workers(settings):
        topics = [settings.topic(t) for t in stage_class(name).inputs]
        lags = bus.lag(f"{settings.topic_prefix}{name}", topics)
        out[name] = float(sum(p.committed for p in lags))
    return out


def take_sample(
    store: QueueStore,
    now: datetime,
    bus: Bus | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    processed, dead = _processed_by_stage(), _counter_by(DEAD_LETTERS, "stage")
    if bus is not None and settings is not None:
        try:
            processed = stage_progress(bus, settings)
            topic = settings.topic("deadletter")
            dead = {"dead-letter topic": float(bus.topic_counts([topic]).get(topic, 0))}
        except Exception as exc:  # a sample never fails for the bus
            log.warning("operations sample: bus unavailable", extra={"error": str(exc)})
    return {
        "t": int(now.timestamp()),
        "counts": store.counts(),
        "oldest_s": round(oldest_in_review_s(store, now)),
        "processed": processed,
        "dead": dead,
    }


def samples(store: QueueStore) -> list[dict[str, Any]]:
    raw = store.cache_get(NAMESPACE, KEY)
    return json.loads(raw) if raw else []


def sample_if_due(
    store: QueueStore,
    now: datetime | None = None,
    bus: Bus | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Append a sample when the last one is :data:`SAMPLE_S` old; returns the series."""
    now = now or datetime.now(UTC)
    series = samples(store)
    if series and now.timestamp() - series[-1]["t"] < SAMPLE_S - 1:
        return series
    series = [*series, take_sample(store, now, bus, settings)][-MAX_SAMPLES:]
    store.cache_set(NAMESPACE, KEY, json.dumps(series, separators=(",", ":")))
    return series


class Sampler:
    """Samples the figures every :data:`SAMPLE_S` seconds while the web app runs.

    A thread of its own, joined by :meth:`stop`: the app closes the store only after the
    sample in progress is written (closing an SQLite connection under a write crashes).
    """

    def __init__(
        self,
        store: QueueStore,
        bus: Bus | None = None,
        settings: Settings | None = None,
        *,
        every_s: float = SAMPLE_S,
    ) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.every_s = every_s
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._stopped.clear()
            self._thread = threading.Thread(
                target=self._run, name="operations-sampler", daemon=True
            )
            self._thread.start()

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopped.set()
            await run_in_threadpool(thread.join, 60)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                sample_if_due(self.store, None, self.bus, self.settings)
            except StoreUnavailable as exc:
                log.warning("operations sampler: store unavailable", extra={"error": str(exc)})
            except Exception:  # one bad sample must not end the series
                log.exception("operations sampler: a sample failed")
            self._stopped.wait(self.every_s)


def decisions_per_hour(audit: AuditLog, now: datetime) -> dict[str, Any]:
    """Decisions per moderator in each of the last hours (a bulk action counts its items)."""
    start = (now - timedelta(hours=DECISION_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=h) for h in range(DECISION_HOURS)]
    per: dict[str, list[int]] = {}
    for entry in audit.entries(AuditFilter(action="decision", since=start)):
        slot = int((entry.at - start).total_seconds() // 3600)
        if not 0 <= slot < DECISION_HOURS:
            continue
        found = _BULK_ITEMS.search(entry.target)
        per.setdefault(entry.actor, [0] * DECISION_HOURS)[slot] += int(found[1]) if found else 1
    return {"t": [int(h.timestamp()) for h in hours], "by": dict(sorted(per.items()))}


def languages_in(store: QueueStore, extra: set[str]) -> dict[str, int]:
    """Contributions per language (EU languages, languages anyone reads, and unidentified)."""
    codes = sorted({*EU_LANGUAGES, *extra, UNKNOWN_LANGUAGE})
    counts = {c: store.query(QueueQuery(languages=(c,), limit=1)).total for c in codes}
    return dict(sorted(((c, n) for c, n in counts.items() if n), key=lambda kv: -kv[1]))


def unread_open(store: QueueStore, read: set[str], languages: dict[str, int]) -> dict[str, int]:
    """Open items per language no moderator reads."""
    out = {}
    for code in languages:
        if code in read or code == UNKNOWN_LANGUAGE:
            continue
        total = store.query(QueueQuery(states=REVIEWABLE, languages=(code,), limit=1)).total
        if total:
            out[code] = total
    return out


def figures(
    store: QueueStore,
    audit: AuditLog,
    accounts: Accounts,
    bus: Bus | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Everything the operations page draws, as JSON-ready data."""
    now = datetime.now(UTC)
    series = sample_if_due(store, now, bus, settings)
    read = readers(accounts)
    languages = languages_in(store, read)
    states = [s for s in QUEUE_STATES if any(x["counts"].get(s) for x in series)]
    stages = sorted({k for x in series for k in x["processed"]})
    dead_stages = sorted({k for x in series for k in x["dead"]})
    return {
        "now": int(now.timestamp()),
        "sample_s": SAMPLE_S,
        "t": [x["t"] for x in series],
        "states": {s: [x["counts"].get(s, 0) for x in series] for s in states},
        "oldest_s": [x["oldest_s"] for x in series],
        "oldest_now_s": round(oldest_in_review_s(store, now)),
        "counts_now": store.counts(),
        "throughput": {s: _rates(series, "processed", s) for s in stages},
        "processed_total": series[-1]["processed"] if series else {},
        "dead": {s: [x["dead"].get(s, 0) for x in series] for s in dead_stages},
        "dead_total": sum((series[-1]["dead"] if series else {}).values()),
        "decisions": decisions_per_hour(audit, now),
        "languages": languages,
        "unread": unread_open(store, read, languages),
        "readers": sorted(read),
    }


def _rates(series: list[dict[str, Any]], field: str, key: str) -> list[float]:
    """Per-minute rate of a cumulative counter between samples (0 for the first, and after a
    process restart that reset the counter)."""
    out = [0.0]
    for before, after in pairwise(series):
        delta = after[field].get(key, 0) - before[field].get(key, 0)
        minutes = max(1e-9, (after["t"] - before["t"]) / 60)
        out.append(round(delta / minutes, 2) if delta >= 0 else 0.0)
    return out[: len(series)]
