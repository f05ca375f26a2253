"""Claims that never collide: "next item", idle release, and claims pushed live.

* :meth:`Claims.next` hands a moderator the next item of their view nobody else holds and
  claims it in one atomic store step (:meth:`QueueStore.claim_next`), skipping items someone
  decided a moment ago (still being applied).
* A claim is renewed by the open page, but only an interaction (a key or a click) counts as
  activity: after ``ui_idle_release_s`` without one the claim is released even though the tab
  keeps renewing it. The last interaction per item lives in the store's cache (namespace
  ``ui-activity``), so every UI process agrees.
* Every claim and release changes a stamp in the cache (``ui-live``/``claims``); the live
  notifier watches it with the counts, so open lists show "taken by …" without a reload.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moderator_ui.audit import AuditLog
from moderator_ui.review import Review, View
from pipeline.store.base import QueueQuery, QueueStore
from pipeline.store.namespaces import CacheNamespace

ACTIVITY: CacheNamespace = "ui-activity"
LIVE: CacheNamespace = "ui-live"
CLAIMS_STAMP = "claims"
NEXT_ATTEMPTS = 20


def claims_stamp(store: QueueStore) -> str | None:
    """Changes whenever a claim is taken or released (for live updates)."""
    return store.cache_get(LIVE, CLAIMS_STAMP)


def claims_changed(store: QueueStore) -> None:
    store.cache_set(LIVE, CLAIMS_STAMP, uuid.uuid4().hex)


@dataclass(frozen=True)
class Renewal:
    holder: str | None
    idle_released: bool = False


class Claims:
    def __init__(
        self,
        review: Review,
        audit: AuditLog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.review = review
        self.store = review.store
        self.settings = review.ctx.settings
        self.audit = audit
        self.clock = clock

    def touched(self, contribution_id: str, user: str) -> None:
        """``user`` interacted with their claim on the item now."""
        value = json.dumps({"by": user, "at": self.clock()})
        ttl = self.settings.ui_idle_release_s + self.settings.ui_lease_ttl_s
        self.store.cache_set(ACTIVITY, contribution_id, value, ttl_s=ttl)

    def last_touched(self, contribution_id: str, user: str) -> float | None:
        raw = self.store.cache_get(ACTIVITY, contribution_id)
        if not raw:
            return None
        seen = json.loads(raw)
        return float(seen["at"]) if seen.get("by") == user else None

    def claim(self, contribution_id: str, user: str, *, address: str = "") -> str:
        """An explicit claim (opening the item): an interaction."""
        before = self.store.lease_holder(contribution_id)
        holder = self.review.claim(contribution_id, user, address=address)
        if holder == user:
            self.touched(contribution_id, user)
            if before != user:
                claims_changed(self.store)
        return holder

    def release(self, contribution_id: str, user: str, *, address: str = "") -> bool:
        released = self.review.release(contribution_id, user, address=address)
        if released:
            claims_changed(self.store)
        return released

    def renew(self, contribution_id: str, user: str, *, active: bool, address: str = "") -> Renewal:
        """The page's periodic renewal; ``active`` if the moderator interacted since the last."""
        if active:
            return Renewal(self.claim(contribution_id, user, address=address))
        last = self.last_touched(contribution_id, user)
        if last is None:
            self.touched(contribution_id, user)  # a claim from before idle tracking
        elif self.clock() - last >= self.settings.ui_idle_release_s:
            if self.review.release(contribution_id, user, address=address):
                claims_changed(self.store)
                self.audit.record(user, "idle_release", target=contribution_id, address=address)
            return Renewal(self.store.lease_holder(contribution_id), idle_released=True)
        holder = self.store.claim(contribution_id, user, self.settings.ui_lease_ttl_s)
        return Renewal(holder)

    def next(
        self, query: QueueQuery, user: str, *, skip: Iterable[str] = (), address: str = ""
    ) -> View | None:
        """Claim the next item of ``query`` nobody else holds; None when there is none."""
        exclude = list(skip)
        ttl = self.settings.ui_lease_ttl_s
        for _ in range(NEXT_ATTEMPTS):
            item = self.store.claim_next(query, user, ttl, exclude=exclude)
            if item is None:
                return None
            cid = item.contribution_id
            view = self.review.view(item)
            if view.applying or (query.states and view.state not in query.states):
                self.store.release(cid, user)  # decided a moment ago: not open any more
                exclude.append(cid)
                continue
            self.touched(cid, user)
            claims_changed(self.store)
            self.audit.record(user, "claim", target=cid, detail="next", address=address)
            return view
        return None
