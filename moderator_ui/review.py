"""Review actions: claims, decisions (one or in bulk) and read-your-writes.

A decision is an event (``ModerationDecided``) that the triage worker applies. Until it does,
the UI overlays the decision it just published (a marker in the store's cache, namespace
``ui-decided``), so the moderator and everyone else see it at once.

Safety rules, in order:

1. deciding needs the item's lease: granted if free or already ours, else :class:`Taken`;
2. the moderator's view must still be current: same version and same number of decisions,
   else :class:`Conflict` naming who decided what (never a silent overwrite);
3. while an earlier decision is still being applied, another waits (:class:`Conflict`);
4. the event carries the number of decisions seen, so triage keeps aside (``conflicts``) any
   decision that raced past these checks;
5. no silent flip: changing the outcome of an item a human decided (approved ↔ rejected, or
   either to escalated) is a *reversal*: it needs a statement saying why and names the decision
   it reverses (``reverses``). Escalating first and deciding later is the normal way, not one.

An undo (the toast's button, for a few seconds after a decision) is a reversal of one's own last
decision back to the decision before it, with the reason "undone by <user>". The decision
events have no "back to the queue" outcome, so a first decision undone becomes an escalation:
the item returns to a human queue (the Escalated tab) with that note.

Every action carries the page's idempotency key: its event id is derived from it, and a repeat
(a double submit, a retried request) is answered as done without publishing anything new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from moderator_ui.audit import AuditLog, audit_reason
from moderator_ui.idempotency import action_event_id, action_ids
from pipeline.api.context import AppContext
from pipeline.errors import PermanentError
from pipeline.schemas import ModerationDecided
from pipeline.schemas.envelope import Trace, utc_now
from pipeline.schemas.queue import Decision, QueueItem
from pipeline.store.base import QueueQuery
from pipeline.store.namespaces import CacheNamespace

DecisionKind = Literal["approve", "reject", "escalate"]
PublishedKind = Literal["approve", "reject", "escalate", "requeue"]
REVIEWABLE = ("pending", "needs_review", "auto_hidden", "escalated")
DECIDED = ("approved", "rejected", "auto_approved")
# While triage applies it, a requeue (an undone first decision) shows as back in review.
STATE_OF = {
    "approve": "approved",
    "reject": "rejected",
    "escalate": "escalated",
    "requeue": "needs_review",
}
MARKERS: CacheNamespace = "ui-decided"
MARKER_TTL_S = 3600
BULK_LIMIT = 1000


class Taken(PermanentError):
    def __init__(self, holder: str) -> None:
        super().__init__(f"{holder} is reviewing this item")
        self.holder = holder


class Conflict(PermanentError):
    """The item changed since the moderator looked at it; the message says how."""


class NotFound(PermanentError):
    pass


class Marker(BaseModel):
    """A decision published by the UI and not yet applied by triage."""

    model_config = ConfigDict(extra="forbid")

    decision: PublishedKind
    by: str
    at: AwareDatetime
    reason_code: str | None = None
    statement: str | None = None
    version: int
    decisions_before: int
    event_id: str
    reverses: str | None = None


@dataclass
class View:
    """An item as the UI shows it: stored state plus a decision still being applied."""

    item: QueueItem
    applying: bool = False

    @property
    def state(self) -> str:
        return self.item.state


@dataclass
class BulkResult:
    decided: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


class Review:
    def __init__(self, context: AppContext, audit: AuditLog) -> None:
        self.ctx = context
        self.store = context.store
        self.audit = audit

    # Reading.

    def view(self, item: QueueItem) -> View:
        raw = self.store.cache_get(MARKERS, item.contribution_id)
        if not raw:
            return View(item)
        marker = Marker.model_validate_json(raw)
        if marker.version != item.version or len(item.decisions) > marker.decisions_before:
            return View(item)  # applied by triage, or about an older version
        decision = Decision(
            decision=marker.decision,
            by=marker.by,
            at=marker.at,
            reason_code=marker.reason_code,
            statement=marker.statement,
            event_id=marker.event_id,
            reverses=marker.reverses,
        )
        overlaid = item.model_copy(
            update={"state": STATE_OF[marker.decision], "decisions": [*item.decisions, decision]}
        )
        return View(overlaid, applying=True)

    def get(self, contribution_id: str) -> View:
        item = self.store.get(contribution_id)
        if item is None:
            raise NotFound(contribution_id)
        return self.view(item)

    def page(self, query: QueueQuery) -> tuple[list[View], int]:
        """A page of the queue; items decided a moment ago by anyone drop out of it."""
        page = self.store.query(query)
        views = [self.view(item) for item in page.items]
        if query.states:
            views = [v for v in views if v.state in query.states]
        if query.reported:
            views = [v for v in views if v.item.open_reports()]  # answered a moment ago
        return views, page.total

    # Claims.

    def claim(self, contribution_id: str, user: str, *, address: str = "") -> str:
        """Take or renew the lease; returns the holder (``user`` if granted)."""
        before = self.store.lease_holder(contribution_id)
        holder = self.store.claim(contribution_id, user, self.ctx.settings.ui_lease_ttl_s)
        if holder == user and before != user:
            self.audit.record(user, "claim", target=contribution_id, address=address)
        return holder

    def release(self, contribution_id: str, user: str, *, address: str = "") -> bool:
        released = self.store.release(contribution_id, user)
        if released:
            self.audit.record(user, "release", target=contribution_id, address=address)
        return released

    # Deciding.

    def decide(
        self,
        contribution_id: str,
        user: str,
        decision: DecisionKind,
        *,
        seen_version: int,
        seen_decisions: int,
        reason_code: str | None = None,
        statement: str | None = None,
        address: str = "",
        idempotency_key: str | None = None,
    ) -> View:
        self._check_reason(decision, reason_code, statement)
        item = self.store.get(contribution_id)
        if item is None:
            raise NotFound(contribution_id)
        if idempotency_key is not None and self._done(
            item, action_event_id("decision", user, idempotency_key, contribution_id)
        ):
            return self.get(contribution_id)  # the same action again: already decided
        holder = self.store.claim(contribution_id, user, self.ctx.settings.ui_lease_ttl_s)
        if holder != user:
            raise Taken(holder)
        try:
            view = self.view(item)
            problem = self._staleness(view, seen_version, seen_decisions)
            if problem:
                self.audit.record(user, "decision_conflict", target=contribution_id, detail=problem)
                raise Conflict(problem)
            reversed_ = reversal_of(item, decision)
            if reversed_ is not None and not (statement or "").strip():
                raise ValueError(
                    f"this reverses {reversed_.by}'s decision ({reversed_.decision}): "
                    "a reversal needs a statement saying why"
                )
            self._publish(
                [item],
                user,
                decision,
                reason_code,
                statement,
                key=idempotency_key,
                reverses=reversed_.event_id if reversed_ else None,
            )
        finally:
            self.store.release(contribution_id, user)
        self.audit.record(
            user,
            "decision",
            target=contribution_id,
            detail=decision,
            reason=audit_reason(reason_code, statement),
            address=address,
        )
        return self.get(contribution_id)

    def undo(
        self,
        contribution_id: str,
        user: str,
        event_id: str,
        *,
        address: str = "",
        idempotency_key: str | None = None,
    ) -> View:
        """Reverse ``user``'s last decision ``event_id`` back to the decision before it."""
        item = self.store.get(contribution_id)
        if item is None:
            raise NotFound(contribution_id)
        if idempotency_key is not None and self._done(
            item, action_event_id("undo", user, idempotency_key, contribution_id)
        ):
            return self.get(contribution_id)
        decisions = self.view(item).item.decisions
        if not decisions or decisions[-1].event_id != event_id:
            raise Conflict("only the last decision can be undone, and another came after it")
        undone = decisions[-1]
        if undone.by != user:
            raise Conflict(f"{undone.by} made that decision: only they can undo it")
        earlier = [d for d in decisions[:-1] if d.version in (None, item.version)]
        back = earlier[-1] if earlier else None
        # The decision before it, or none: the item goes back to the policy's state.
        decision: PublishedKind = back.decision if back else "requeue"  # type: ignore[assignment]
        statement = f"undone by {user}"
        holder = self.store.claim(contribution_id, user, self.ctx.settings.ui_lease_ttl_s)
        if holder != user:
            raise Taken(holder)
        try:
            self._publish(
                [item],
                user,
                decision,
                back.reason_code if back else None,
                statement,
                key=idempotency_key,
                kind="undo",
                reverses=event_id,
                seen=len(decisions),
            )
        finally:
            self.store.release(contribution_id, user)
        self.audit.record(
            user,
            "decision",
            target=contribution_id,
            detail=f"undo {undone.decision}: back to {decision}",
            reason=statement,
            address=address,
        )
        return self.get(contribution_id)

    def bulk(
        self,
        user: str,
        decision: DecisionKind,
        *,
        ids: list[str] | None = None,
        author: str | None = None,
        cluster: str | None = None,
        reason_code: str | None = None,
        statement: str | None = None,
        address: str = "",
        idempotency_key: str | None = None,
    ) -> BulkResult:
        """Decide many open items at once; items taken by others or decided are skipped."""
        self._check_reason(decision, reason_code, statement)
        if ids is not None:
            items = [i for cid in ids[:BULK_LIMIT] if (i := self.store.get(cid)) is not None]
        else:
            query = QueueQuery(states=REVIEWABLE, author=author, cluster=cluster, limit=BULK_LIMIT)
            items = self.store.query(query).items
        result = BulkResult()
        mine: list[QueueItem] = []
        for item in items:
            cid = item.contribution_id
            if idempotency_key is not None and self._done(
                item, action_event_id("bulk", user, idempotency_key, cid)
            ):
                result.decided.append(cid)  # decided by this same action before (a retry)
                continue
            holder = self.store.claim(cid, user, self.ctx.settings.ui_lease_ttl_s)
            view = self.view(item)
            if holder != user:
                result.skipped[cid] = f"{holder} is reviewing it"
            elif view.applying or view.state not in REVIEWABLE:
                result.skipped[cid] = f"already {view.state}"
                self.store.release(cid, user)
            else:
                mine.append(item)
        bulk_id = (
            action_event_id("bulk", user, idempotency_key).hex
            if idempotency_key
            else uuid.uuid4().hex
        )
        try:
            self._publish(
                mine,
                user,
                decision,
                reason_code,
                statement,
                bulk_id=bulk_id,
                key=idempotency_key,
            )
        finally:
            for item in mine:
                self.store.release(item.contribution_id, user)
        result.decided += [i.contribution_id for i in mine]
        target = f"author {author}" if author else f"cluster {cluster}" if cluster else "selection"
        self.audit.record(
            user,
            "decision",
            target=f"{target}: {len(mine)} items",
            detail=f"bulk {decision} ({bulk_id})",
            reason=audit_reason(reason_code, statement),
            address=address,
        )
        return result

    def _check_reason(
        self, decision: DecisionKind, reason_code: str | None, statement: str | None
    ) -> None:
        if decision == "reject" and reason_code not in self.ctx.settings.ui_reject_reasons:
            choices = ", ".join(self.ctx.settings.ui_reject_reasons)
            raise ValueError(f"a rejection needs a reason, one of {choices}")
        if decision == "escalate" and not (statement or "").strip():
            raise ValueError("an escalation needs a note saying why")
        if statement is not None and len(statement) > 10_000:
            raise ValueError("the statement is longer than 10,000 characters")

    def _done(self, item: QueueItem, event_id: uuid.UUID) -> bool:
        """Whether the decision ``event_id`` was published already (being applied or applied)."""
        wanted = str(event_id)
        raw = self.store.cache_get(MARKERS, item.contribution_id)
        if raw and Marker.model_validate_json(raw).event_id == wanted:
            return True
        return any(d.event_id == wanted for d in (*item.decisions, *item.conflicts))

    @staticmethod
    def _staleness(view: View, seen_version: int, seen_decisions: int) -> str | None:
        item = view.item
        if item.version != seen_version:
            return f"the contribution was edited (now version {item.version}): review it again"
        if len(item.decisions) != seen_decisions:
            # Someone decided first (being applied or applied): say who, what and when.
            last = item.decisions[-1]
            why = f" ({last.reason_code})" if last.reason_code else ""
            return (
                f"{last.by} decided {last.decision}{why} at {last.at:%H:%M:%S} UTC while you "
                "were reviewing: nothing was changed"
            )
        if view.applying:
            last = item.decisions[-1]
            return f"{last.by}'s decision ({last.decision}) is still being applied: try again"
        return None

    def _publish(
        self,
        items: list[QueueItem],
        user: str,
        decision: PublishedKind,
        reason_code: str | None,
        statement: str | None,
        *,
        bulk_id: str | None = None,
        key: str | None = None,
        kind: str | None = None,
        reverses: str | None = None,
        seen: int | None = None,
    ) -> list[ModerationDecided]:
        """``seen`` overrides the decisions seen (an undo counts the one still being applied)."""
        kind = kind or ("bulk" if bulk_id else "decision")
        events = [
            ModerationDecided(
                contribution_id=item.contribution_id,
                contribution_version=item.version,
                decision=decision,
                moderator=user,
                reason_code=reason_code if decision == "reject" else None,
                statement=statement or None,
                seen_decisions=len(item.decisions) if seen is None else seen,
                bulk_id=bulk_id,
                reverses=reverses,
                trace=Trace(producer="moderator_ui"),
                **action_ids(kind, user, key, item.contribution_id),
            )
            for item in items
        ]
        now = utc_now()
        for item, event in zip(items, events, strict=True):
            marker = Marker(
                decision=decision,
                by=user,
                at=now,
                reason_code=event.reason_code,
                statement=event.statement,
                version=item.version,
                decisions_before=event.seen_decisions or 0,
                event_id=str(event.event_id),
                reverses=reverses,
            )
            self.store.cache_set(
                MARKERS, item.contribution_id, marker.model_dump_json(), ttl_s=MARKER_TTL_S
            )
        self.ctx.publish(events)
        return events


FINAL = ("approve", "reject")


def last_final(item: QueueItem) -> Decision | None:
    """The last human decision on this version, if it is final (approve or reject)."""
    mine = [d for d in item.decisions if d.version in (None, item.version)]
    last = mine[-1] if mine else None
    return last if last is not None and last.decision in FINAL else None


def reversal_of(item: QueueItem, decision: str) -> Decision | None:
    """The human decision that ``decision`` would reverse (None: not a reversal)."""
    last = last_final(item)
    return last if last is not None and last.decision != decision else None
