"""``hemicycle rebuild``: wipe the store and rebuild it by replaying the log of record.

Kafka (or the embedded bus) keeps every event; the queue is a projection of it. The triage
worker's input topics are streamed from the start up to the high watermarks read when the
rebuild starts (records published later are the live workers' business), every partition in
its offset order, in bounded memory and with no time limit, through the same triage code. The
projection does not depend on how topics interleave or on batch sizes (see
:mod:`pipeline.workers.triage`), so the rebuilt store is the live one: ``hemicycle export
--full`` prints the same bytes.

Stop the triage workers first: a rebuild is the only writer while it runs. Caches, accounts,
API keys, the audit log and the scorer's shared state are kept (they are not projections).
"""

from __future__ import annotations

from dataclasses import dataclass

from tqdm import tqdm

from pipeline.bus.base import Bus
from pipeline.config import Settings
from pipeline.privacy import ERASED_TEXT, SealError, sealer_for
from pipeline.schemas import EventDecodeError, decode_event
from pipeline.schemas.moderation import AuthorSanctioned, SanctionLifted
from pipeline.schemas.queue import Sanction
from pipeline.store.base import QueueStore
from pipeline.workers.triage import TriageStage
from pipeline.workers.triage_record import (
    AUTHOR_SANCTIONS,
    author_key,
    merge_sanction,
    sanction_of,
)

BATCH = 500


@dataclass
class RebuildReport:
    replayed: int = 0
    skipped_invalid: int = 0
    items: int = 0


def _author_sanctions(bus: Bus, store: QueueStore, settings: Settings) -> None:
    """First pass over the decisions topic: every author's sanctions, so that each of their
    contributions is triaged knowing them, whatever the order of the replay (live, triage
    knows a sanction before the contributions written after it)."""
    platforms: dict[str, tuple[str, Sanction]] = {}
    sealer = sealer_for(settings, store)
    for record in bus.replay([settings.topic("decisions")]):
        try:
            event = decode_event(
                record.value,
                expected=(AuthorSanctioned, SanctionLifted),
                context=settings.validation_context,
                max_bytes=settings.max_event_bytes,
            )
            event = sealer.open(event)
        except (EventDecodeError, SealError):
            continue  # another decision event, or one dead-lettered when it arrived
        if isinstance(event, AuthorSanctioned):
            platforms[str(event.event_id)] = (event.platform, sanction_of(event))
        elif event.sanction_id in platforms:
            platform, sanction = platforms[event.sanction_id]
            lifted = sanction.model_copy(
                update={"lifted_at": event.occurred_at, "lifted_by": event.moderator}
            )
            platforms[event.sanction_id] = (platform, lifted)
    for platform, sanction in platforms.values():
        if sanction.author == ERASED_TEXT:
            continue  # an erased author: nothing to pre-moderate by
        key = author_key(platform, sanction.author)
        raw = store.cache_get(AUTHOR_SANCTIONS, key)
        store.cache_set(AUTHOR_SANCTIONS, key, merge_sanction(raw, sanction))


def rebuild_store(
    bus: Bus, store: QueueStore, settings: Settings, *, progress: bool = False
) -> RebuildReport:
    report = RebuildReport()
    _author_sanctions(bus, store, settings)
    replay = bus.replay([settings.topic(name) for name in TriageStage.inputs])
    store.clear()
    triage = TriageStage.from_settings(settings, store)
    sealer = sealer_for(settings, store)
    batch = []
    with tqdm(total=replay.total, unit="ev", disable=not progress, desc="rebuild") as bar:
        for record in replay:
            bar.update(1)
            try:
                event = decode_event(
                    record.value,
                    expected=TriageStage.accepts,
                    context=settings.validation_context,
                    max_bytes=settings.max_event_bytes,
                )
                event = sealer.open(event)
            except (EventDecodeError, SealError):
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
