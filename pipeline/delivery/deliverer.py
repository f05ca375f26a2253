"""Events in, webhook deliveries out: what the ``delivery`` worker and the replay command share.

For each event, in this order:

* its platform has no entry in the webhooks file → **skipped** (logged once per platform);
* the platform does not subscribe to this kind of event → **skipped**;
* it was delivered before (store cache ``delivery-sent``, kept 30 days) → **skipped**: a
  replayed batch does not POST twice;
* it is an outcome older than one already delivered for the same contribution → **skipped**
  (a replayed dead letter must not undo a later decision on the platform);
* otherwise it is POSTed (see :mod:`pipeline.delivery.sender`) → **delivered** or **failed**.

Events of different contributions are sent concurrently (``concurrency`` threads); the events
of one contribution are sent one after the other, in order. When an endpoint has used up all
its attempts, it is considered down for ``breaker_s`` seconds: further events for it fail at
once ("not attempted") instead of each spending every attempt again, which keeps one batch
bounded in time however many of its events go to a dead endpoint. Only the calling thread
touches the store.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pipeline.config import Settings
from pipeline.delivery.payloads import (
    DeliverableEvent,
    build_payload,
    event_kind,
    event_platform,
)
from pipeline.delivery.sender import WebhookError, WebhookSender
from pipeline.delivery.webhooks import (
    PlatformWebhook,
    WebhookConfigError,
    WebhooksConfig,
    load_webhooks,
)
from pipeline.logs import get_logger
from pipeline.schemas import ModerationOutcome
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

log = get_logger("delivery")

SENT: CacheNamespace = "delivery-sent"  # event_id → "1": delivered (by the worker or a replay)
REPLAYED: CacheNamespace = "delivery-replayed"  # event_id → "1": a dead letter replayed
# contribution_id → occurred_at of the latest outcome sent
OUTCOME_AT: CacheNamespace = "delivery-outcome-at"
MARK_TTL_S = 30 * 24 * 3600
DEFAULT_CONCURRENCY = 8

Status = Literal["delivered", "skipped", "failed"]


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one event. ``detail`` is the skip reason, the failure reason, or how
    the platform answered."""

    event: DeliverableEvent
    status: Status
    detail: str
    url: str | None = None
    permanent: bool = False
    attempts: int = 0

    @property
    def event_id(self) -> str:
        return str(self.event.event_id)


@dataclass(frozen=True)
class _Marks:
    """Store marks of one batch: delivered event ids, latest outcome time per contribution."""

    sent: dict[str, str]
    outcome_at: dict[str, str]


class Deliverer:
    def __init__(
        self,
        webhooks: WebhooksConfig,
        sender: WebhookSender,
        store: QueueStore,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        breaker_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.webhooks = webhooks
        self.sender = sender
        self.store = store
        self.concurrency = max(1, concurrency)
        self.breaker_s = breaker_s
        self.clock = clock
        self._down: dict[str, tuple[float, str]] = {}  # url → (down until, why)
        self._lock = threading.Lock()
        self._unconfigured_logged: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> Deliverer:
        """Needs ``HEMICYCLE_WEBHOOKS_FILE``; :class:`WebhookConfigError` if unset or invalid."""
        if settings.webhooks_file is None:
            raise WebhookConfigError(
                "HEMICYCLE_WEBHOOKS_FILE is not set: webhook delivery needs the TOML file of "
                "platform webhook URLs and secrets (see README, Delivery)"
            )
        return cls(
            load_webhooks(settings.webhooks_file),
            WebhookSender.from_settings(settings),
            store,
            breaker_s=settings.delivery_backoff_max_s,
        )

    def deliver(self, events: Sequence[DeliverableEvent]) -> list[DeliveryResult]:
        """Deliver ``events``; one result per event, in the same order."""
        results: list[DeliveryResult | None] = [None] * len(events)
        groups: dict[str, list[tuple[int, PlatformWebhook]]] = defaultdict(list)
        first_of: dict[str, int] = {}
        duplicates: list[tuple[int, int]] = []
        marks = self._marks(events)
        for i, event in enumerate(events):
            key = str(event.event_id)
            if key in first_of:  # the same event twice in one batch: one POST
                duplicates.append((i, first_of[key]))
                continue
            first_of[key] = i
            webhook, skip = self._plan(event, marks)
            if webhook is None:
                results[i] = DeliveryResult(event, "skipped", skip)
            else:
                groups[event.contribution_id].append((i, webhook))

        def run_group(items: list[tuple[int, PlatformWebhook]]) -> None:
            for i, webhook in items:
                results[i] = self._send(events[i], webhook)

        if len(groups) <= 1 or self.concurrency == 1:
            for items in groups.values():
                run_group(items)
        else:
            workers = min(self.concurrency, len(groups))
            with ThreadPoolExecutor(workers, thread_name_prefix="delivery") as pool:
                for future in [pool.submit(run_group, items) for items in groups.values()]:
                    future.result()
        for i, first in duplicates:
            results[i] = results[first]
        done = [r for r in results if r is not None]
        assert len(done) == len(events)
        self._record(done)
        return done

    def _marks(self, events: Sequence[DeliverableEvent]) -> _Marks:
        """What the store knows of this batch's events: two multi-gets for the whole batch."""
        sent = self.store.cache_get_many(SENT, (str(e.event_id) for e in events))
        outcomes = {e.contribution_id for e in events if isinstance(e, ModerationOutcome)}
        return _Marks(sent, self.store.cache_get_many(OUTCOME_AT, outcomes) if outcomes else {})

    def _plan(self, event: DeliverableEvent, marks: _Marks) -> tuple[PlatformWebhook | None, str]:
        platform = event_platform(event)
        webhook = self.webhooks.for_platform(platform)
        if webhook is None:
            reason = f"no webhook configured for platform {platform!r}"
            if platform not in self._unconfigured_logged:
                self._unconfigured_logged.add(platform)
                log.warning(f"{reason}: its deliveries are skipped", extra={"platform": platform})
            log.debug("delivery skipped", extra={"event_id": str(event.event_id), "why": reason})
            return None, reason
        kind = event_kind(event)
        if not webhook.wants(kind):
            return None, f"platform {platform!r} does not subscribe to {kind}"
        event_id = str(event.event_id)
        if event_id in marks.sent:
            return None, "already delivered"
        if isinstance(event, ModerationOutcome):
            latest = marks.outcome_at.get(event.contribution_id)
            if latest is not None and datetime.fromisoformat(latest) > event.occurred_at:
                return None, (
                    f"superseded: a later outcome of {event.contribution_id} "
                    f"({latest}) was delivered already"
                )
        return webhook, ""

    def _send(self, event: DeliverableEvent, webhook: PlatformWebhook) -> DeliveryResult:
        url = webhook.display_url
        down = self._down_reason(webhook.url)
        if down is not None:
            return DeliveryResult(event, "failed", f"webhook {url} not attempted: {down}", url)
        try:
            receipt = self.sender.send(
                webhook, build_payload(event), abort=lambda: self._down_reason(webhook.url)
            )
        except WebhookError as exc:
            if not exc.permanent:
                self._trip(webhook.url, exc.reason)
            return DeliveryResult(
                event, "failed", exc.reason, url, permanent=exc.permanent, attempts=exc.attempts
            )
        plural = "attempt" if receipt.attempts == 1 else "attempts"
        return DeliveryResult(
            event,
            "delivered",
            f"answered {receipt.status_code} after {receipt.attempts} {plural}",
            url,
            attempts=receipt.attempts,
        )

    def _down_reason(self, url: str) -> str | None:
        with self._lock:
            entry = self._down.get(url)
            if entry is None:
                return None
            until, why = entry
            if self.clock() >= until:
                del self._down[url]
                return None
        return f"it failed for another event less than {self.breaker_s:g} s ago ({why})"

    def _trip(self, url: str, why: str) -> None:
        with self._lock:
            if url not in self._down:  # keep the original failure, not "not attempted"
                self._down[url] = (self.clock() + self.breaker_s, why)

    def _record(self, results: Sequence[DeliveryResult]) -> None:
        """Remember deliveries in the store (the calling thread only)."""
        latest: dict[str, datetime] = {}
        sent: dict[str, str] = {}
        for result in results:
            if result.status != "delivered":
                continue
            sent[result.event_id] = "1"
            event = result.event
            if isinstance(event, ModerationOutcome):
                key = event.contribution_id
                if key not in latest or event.occurred_at > latest[key]:
                    latest[key] = event.occurred_at
        self.store.cache_set_many(SENT, sent, ttl_s=MARK_TTL_S)
        if not latest:
            return
        stored = self.store.cache_get_many(OUTCOME_AT, latest)
        later = {
            key: when.isoformat()
            for key, when in latest.items()
            if key not in stored or datetime.fromisoformat(stored[key]) < when
        }
        self.store.cache_set_many(OUTCOME_AT, later, ttl_s=MARK_TTL_S)

    def close(self) -> None:
        self.sender.close()
