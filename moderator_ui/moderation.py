"""Appeals and author sanctions from the review page: the events, their checks, the audit.

Each action is an event triage folds into the item (``AppealDecided``, ``AuthorSanctioned``,
``SanctionLifted``). Like decisions, every action carries the page's idempotency key: its event
id is derived from it and a repeat is answered as done without publishing again. Until triage
applies an action the page shows it as being applied (cache namespace ``ui-moderation``).

An appeal is decided by a moderator other than the one who made the decision appealed (DSA
Art. 20(6): not solely by the same person): the UI refuses it with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from moderator_ui.audit import AuditLog, audit_reason
from moderator_ui.idempotency import action_event_id
from moderator_ui.review import NotFound
from pipeline.api.context import AppContext
from pipeline.errors import PermanentError
from pipeline.schemas.envelope import Envelope, Trace, utc_now
from pipeline.schemas.moderation import AppealDecided, AuthorSanctioned, SanctionLifted
from pipeline.schemas.queue import Appeal, QueueItem, Sanction
from pipeline.store.namespaces import CacheNamespace

E = TypeVar("E", bound=Envelope)
A = TypeVar("A", Appeal, Sanction)
PENDING: CacheNamespace = "ui-moderation"
PENDING_TTL_S = 3600
SANCTION_LABELS = {
    "warn": "Warn",
    "suspend": "Suspend until a date",
    "ban": "Ban",
    "premoderate": "Pre-moderate (hide every new contribution until confirmed)",
}


class Refused(PermanentError):
    """The action is not allowed for this moderator (HTTP 403)."""


class Stale(PermanentError):
    """The action no longer applies: already decided, lifted or being applied (HTTP 409)."""


class Pending(BaseModel):
    """An action published by the UI and not yet folded into the item by triage."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    kind: Literal["appeal", "sanction", "lift"]
    target: str
    by: str
    at: datetime
    summary: str


@dataclass
class Panel:
    """What the review page shows of reports, appeals and sanctions for one moderator."""

    open_reports: int
    reporters: int
    appeals: list[tuple[Appeal, str | None]] = field(default_factory=list)
    sanctions: list[tuple[Sanction, str]] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)


def sanction_status(sanction: Sanction, now: datetime | None = None) -> str:
    """active, lifted or ended (a suspension past its end date)."""
    if sanction.lifted_at is not None:
        return "lifted"
    if sanction.until is not None and sanction.until <= (now or datetime.now(UTC)):
        return "ended"
    return "active"


def end_of_day(day: date) -> datetime:
    """A suspension "until" a date lasts to the end of that day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def _problem(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def _one(entries: list[A], event_id: str, missing: str) -> A:
    """The appeal or sanction recorded by ``event_id``; NotFound(``missing``) if none is."""
    found = next((entry for entry in entries if entry.event_id == event_id), None)
    if found is None:
        raise NotFound(missing)
    return found


class Moderation:
    def __init__(self, context: AppContext, audit: AuditLog) -> None:
        self.ctx = context
        self.store = context.store
        self.audit = audit

    # Reading.

    def pending(self, item: QueueItem) -> list[Pending]:
        """Actions on ``item`` published and not yet applied."""
        raw = self.store.cache_get(PENDING, item.contribution_id)
        if not raw:
            return []
        applied = {a.event_id for a in item.appeals if a.result is not None}
        applied |= {s.event_id for s in item.sanctions}
        lifted = {s.event_id for s in item.sanctions if s.lifted_at is not None}
        out = []
        for line in raw.splitlines():
            p = Pending.model_validate_json(line)
            done = (
                (p.kind == "appeal" and p.target in applied)
                or (p.kind == "sanction" and p.event_id in applied)
                or (p.kind == "lift" and p.target in lifted)
            )
            if not done:
                out.append(p)
        return out

    def panel(self, item: QueueItem, user: str) -> Panel:
        """Each appeal with why this user may not decide it (None: they may)."""
        pending = self.pending(item)
        appeals = []
        for appeal in item.appeals:
            why = None
            if appeal.result is None and appeal.against_by == user:
                why = (
                    "You made the decision under appeal: another moderator must decide this appeal."
                )
            appeals.append((appeal, why))
        return Panel(
            open_reports=len(item.open_reports()),
            reporters=len({r.reporter for r in item.open_reports()}),
            appeals=appeals,
            sanctions=[(s, sanction_status(s)) for s in item.sanctions],
            pending=pending,
        )

    # Acting.

    def decide_appeal(
        self,
        contribution_id: str,
        user: str,
        appeal_id: str,
        result: Literal["upheld", "reversed"],
        reply: str,
        *,
        key: str,
        address: str = "",
    ) -> AppealDecided:
        item = self._item(contribution_id)
        appeal = _one(item.appeals, appeal_id, f"no appeal {appeal_id} on {contribution_id}")
        event_id = action_event_id("appeal", user, key, appeal_id)
        if not self._done(item, event_id):
            if appeal.result is not None:
                raise Stale(f"{appeal.decided_by} already decided this appeal ({appeal.result})")
            if appeal.against_by == user:
                raise Refused(
                    "you made the decision under appeal: another moderator must decide this appeal"
                )
            self._not_pending(item, "appeal", appeal_id)
        if not reply.strip():
            raise ValueError("reply: an appeal decision needs a reasoned reply")
        event = self._event(
            AppealDecided,
            item,
            event_id,
            appeal_id=appeal_id,
            result=result,
            moderator=user,
            reply=reply.strip(),
        )
        if not self._publish(item, event, "appeal", appeal_id, user, f"appeal {result}"):
            return event  # the same action again: published before
        self.audit.record(
            user,
            "appeal_decision",
            target=contribution_id,
            detail=f"{result} (appeal {appeal_id})",
            reason=event.reply,
            address=address,
        )
        return event

    def sanction(
        self,
        contribution_id: str,
        user: str,
        action: Literal["warn", "suspend", "ban", "premoderate"],
        statement: str,
        *,
        until: date | None = None,
        reason_code: str | None = None,
        key: str,
        address: str = "",
    ) -> AuthorSanctioned:
        item = self._item(contribution_id)
        event_id = action_event_id("sanction", user, key, contribution_id)
        if not statement.strip():
            raise ValueError("statement: a sanction needs a statement of reasons for the author")
        if action != "suspend":
            until = None
        c = item.contribution
        event = self._event(
            AuthorSanctioned,
            item,
            event_id,
            platform=c.platform,
            author=c.author,
            action=action,
            until=end_of_day(until) if until else None,
            moderator=user,
            reason_code=reason_code or None,
            statement=statement.strip(),
        )
        ends = f" until {event.until:%Y-%m-%d %H:%M} UTC" if event.until else ""
        if not self._publish(item, event, "sanction", c.author, user, f"{action}{ends}"):
            return event  # the same action again: published before
        self.audit.record(
            user,
            "sanction",
            target=f"{c.platform}/{c.author} for {contribution_id}",
            detail=f"{action}{ends}",
            reason=audit_reason(reason_code, event.statement),
            address=address,
        )
        return event

    def lift(
        self,
        contribution_id: str,
        user: str,
        sanction_id: str,
        reason: str,
        *,
        key: str,
        address: str = "",
    ) -> SanctionLifted:
        item = self._item(contribution_id)
        sanction = _one(
            item.sanctions, sanction_id, f"no sanction {sanction_id} on {contribution_id}"
        )
        event_id = action_event_id("lift", user, key, sanction_id)
        if not self._done(item, event_id):
            if sanction.lifted_at is not None:
                raise Stale(f"{sanction.lifted_by} already lifted this sanction")
            self._not_pending(item, "lift", sanction_id)
        if not reason.strip():
            raise ValueError("reason: lifting a sanction needs a reason")
        event = self._event(
            SanctionLifted,
            item,
            event_id,
            sanction_id=sanction_id,
            moderator=user,
            reason=reason.strip(),
        )
        if not self._publish(item, event, "lift", sanction_id, user, f"lift {sanction.action}"):
            return event  # the same action again: published before
        self.audit.record(
            user,
            "sanction_lifted",
            target=f"{sanction.author} for {contribution_id}",
            detail=f"lifted {sanction.action} ({sanction_id})",
            reason=event.reason,
            address=address,
        )
        return event

    # Helpers.

    def _item(self, contribution_id: str) -> QueueItem:
        item = self.store.get(contribution_id)
        if item is None:
            raise NotFound(f"no item {contribution_id}")
        return item

    def _done(self, item: QueueItem, event_id: object) -> bool:
        """Whether this very action (same key) was published before: a repeat, answered done."""
        wanted = str(event_id)
        if any(p.event_id == wanted for p in self.pending(item)):
            return True
        applied = {a.event_id for a in item.appeals} | {s.event_id for s in item.sanctions}
        return wanted in applied

    def _not_pending(self, item: QueueItem, kind: str, target: str) -> None:
        for p in self.pending(item):
            if p.kind == kind and p.target == target:
                raise Stale(f"{p.by} just did this ({p.summary}); it is being applied")

    @staticmethod
    def _event(cls: type[E], item: QueueItem, event_id: object, **fields: object) -> E:
        try:
            return cls(
                event_id=event_id,
                contribution_id=item.contribution_id,
                contribution_version=item.version,
                trace=Trace(producer="moderator_ui"),
                **fields,
            )
        except ValidationError as exc:
            raise ValueError(_problem(exc)) from None

    def _publish(
        self, item: QueueItem, event: Envelope, kind: str, target: str, user: str, summary: str
    ) -> bool:
        """Publish ``event`` unless this same action was published already (a repeat)."""
        if self._done(item, event.event_id):
            return False
        self.ctx.publish([event])
        pending = Pending(
            event_id=str(event.event_id),
            kind=kind,
            target=target,
            by=user,
            at=utc_now(),
            summary=summary,
        )
        current = self.store.cache_get(PENDING, item.contribution_id) or ""
        lines = [*current.splitlines(), pending.model_dump_json()]
        self.store.cache_set(PENDING, item.contribution_id, "\n".join(lines), ttl_s=PENDING_TTL_S)
        return True
