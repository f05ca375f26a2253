"""delivery: outcomes and translations back to their platforms as signed webhooks.

Consumes ``moderation.outcomes``, ``moderation.notices`` (answers to reporters and authors)
and ``contributions.translated``; produces no events. Each
event is POSTed to its platform's webhook (``HEMICYCLE_WEBHOOKS_FILE``, see
:mod:`pipeline.delivery.webhooks`) with bounded retries (:mod:`pipeline.delivery.sender`).
A platform without a webhook entry is skipped, not failed.

A delivery that fails for good (every attempt used, or a permanent 4xx) raises
:class:`DeliveryFailed`, a :class:`StageError`: the runner dead-letters the event at once,
with the reason (``DeliveryFailed: webhook https://… answered 500 after 8 attempts``), its
raw payload and origin topic, and does not add its own retries on top of the sender's.
``hemicycle deliveries retry`` replays those dead letters.

When a batch has failures, the runner processes its events again one by one to dead-letter
exactly the failed ones. That second pass costs no requests: delivered events are found in
the store (``delivery-sent``) and failed ones in a short in-memory record of their reasons.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import ClassVar

from pipeline.config import Settings
from pipeline.delivery.deliverer import Deliverer
from pipeline.logs import get_logger
from pipeline.schemas import ContributionTranslated, ModerationOutcome
from pipeline.schemas.envelope import Envelope
from pipeline.schemas.moderation import PartyNotified
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Stage, StageError

log = get_logger("delivery")

FAILURE_MEMO_SIZE = 10_000
FAILURE_MEMO_TTL_S = 300.0


class DeliveryFailed(StageError):
    """A webhook delivery that cannot succeed now: dead-letter it (no runner retries)."""


DeliveryInput = ModerationOutcome | ContributionTranslated | PartyNotified


class DeliveryStage(Stage[DeliveryInput]):
    name: ClassVar[str] = "delivery"
    inputs: ClassVar[tuple[str, ...]] = ("outcomes", "translated", "notices")
    accepts: ClassVar[tuple[type[Envelope], ...]] = (
        ModerationOutcome,
        ContributionTranslated,
        PartyNotified,
    )

    def __init__(self, deliverer: Deliverer, *, clock: Callable[[], float] = time.monotonic):
        self.deliverer = deliverer
        self.clock = clock
        # event_id → (when, reason) of recent failures, for the runner's one-by-one pass.
        self._failed: OrderedDict[str, tuple[float, str]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> DeliveryStage:
        return cls(Deliverer.from_settings(settings, store))

    def process(self, events: Sequence[DeliveryInput]) -> list[Envelope]:
        failures: dict[str, str] = {}
        fresh: list[DeliveryInput] = []
        for event in events:
            known = self._known_failure(str(event.event_id))
            if known is not None:
                failures[str(event.event_id)] = known
            else:
                fresh.append(event)
        counts = {"delivered": 0, "skipped": 0, "failed": 0}
        for result in self.deliverer.deliver(fresh):
            counts[result.status] += 1
            if result.status == "failed":
                failures[result.event_id] = result.detail
                self._remember(result.event_id, result.detail)
            elif result.status == "delivered":
                log.debug(
                    "delivered",
                    extra={"event_id": result.event_id, "url": result.url, "how": result.detail},
                )
        if counts["delivered"] or counts["failed"]:
            log.info("deliveries", extra=counts)
        if failures:
            if len(events) == 1:
                raise DeliveryFailed(next(iter(failures.values())))
            first = next(iter(failures.values()))
            raise DeliveryFailed(f"{len(failures)} of {len(events)} deliveries failed; {first}")
        return []

    def _known_failure(self, event_id: str) -> str | None:
        entry = self._failed.get(event_id)
        if entry is None:
            return None
        when, reason = entry
        if self.clock() - when > FAILURE_MEMO_TTL_S:
            del self._failed[event_id]
            return None
        return reason

    def _remember(self, event_id: str, reason: str) -> None:
        self._failed[event_id] = (self.clock(), reason)
        self._failed.move_to_end(event_id)
        while len(self._failed) > FAILURE_MEMO_SIZE:
            self._failed.popitem(last=False)

    def close(self) -> None:
        self.deliverer.close()
