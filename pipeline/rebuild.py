"""``hemicycle rebuild``: wipe the store and rebuild it by replaying the log of record.

Kafka (or the embedded bus) keeps every event; the store is a projection of it. Replaying the
triage worker's input topics from the start through the same triage code gives back the same
queue. Stop the triage workers first: a rebuild is the only writer while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.bus.base import Bus
from pipeline.config import Settings
from pipeline.schemas import EventDecodeError, decode_event
from pipeline.store.base import QueueStore
from pipeline.workers.triage import TriageStage

BATCH = 500


@dataclass
class RebuildReport:
    replayed: int = 0
    skipped_invalid: int = 0
    items: int = 0


def rebuild_store(bus: Bus, store: QueueStore, settings: Settings) -> RebuildReport:
    report = RebuildReport()
    store.clear()
    triage = TriageStage.from_settings(settings, store)
    for logical in TriageStage.inputs:
        batch = []
        for record in bus.read(settings.topic(logical)):
            try:
                event = decode_event(
                    record.value,
                    expected=TriageStage.accepts,
                    context=settings.validation_context,
                    max_bytes=settings.max_event_bytes,
                )
            except EventDecodeError:
                report.skipped_invalid += 1  # dead-lettered when it first arrived
                continue
            batch.append(event)
            if len(batch) >= BATCH:
                triage.process(batch)
                report.replayed += len(batch)
                batch = []
        triage.process(batch)
        report.replayed += len(batch)
    report.items = sum(store.counts().values())
    return report
