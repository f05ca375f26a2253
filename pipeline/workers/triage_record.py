"""The moderation of record inside triage: reports, appeals, sanctions, statements of reasons.

Pure functions of the queue item and one event (or of the item's facts), used by
:mod:`pipeline.workers.triage`:

* ``fold_*`` put a ``ContributionReported``, ``AppealFiled``, ``AppealDecided``,
  ``AuthorSanctioned`` or ``SanctionLifted`` into the item;
* :func:`record` recomputes, from the item's facts and the policy's decision, its automatic
  outcome and its statements of reasons (DSA Art. 17) — like state and priority, they do not
  depend on how events of different topics interleave. An edit replaces the automatic outcome
  (and its statement) with the new version's: the results of an older version may still be in
  flight when the edit arrives, so only the current version's are a function of the log. Every
  human rejection, on any version, keeps its statement (decisions are ordered on their topic);
  its facts are read from the item as it stands;
* ``*_notice`` build the ``PartyNotified`` events: what the platform is asked to tell a reporter
  or an author, each id derived from its cause.

An appeal is decided against what was appealed: an author's appeal, reversed, approves the
contribution; a reporter's appeal (against a decision not to act), reversed, rejects it.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from pipeline.policy import PolicyDecision
from pipeline.schemas.envelope import DERIVED_NAMESPACE, Trace
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.moderation import (
    AppealDecided,
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    PartyNotified,
    SanctionLifted,
)
from pipeline.schemas.queue import (
    Appeal,
    AutomaticOutcome,
    Decision,
    QueueItem,
    Report,
    Sanction,
)
from pipeline.schemas.statements import Source, StatementOfReasons, statement_puid
from pipeline.store.namespaces import CacheNamespace

AUTHOR_SANCTIONS: CacheNamespace = "author-sanctions"  # author key → sanctions (JSON)
RESTRICTING = ("premoderate", "suspend", "ban")  # sanctions that hide the author's new items
RESTRICTIVE_HUMAN = {"reject": "rejected"}
_APPEAL_REVERSAL = {"author": "approve", "reporter": "reject"}
MAX_FACTS = 5000
ERASED_TEXT = "[erased]"  # pipeline.privacy.sealing.ERASED_TEXT (kept import-free here)


def auto_outcome_id(contribution_id: str, version: int, outcome: str) -> uuid.UUID:
    """The id of the automatic outcome of one contribution version: the same on every replay."""
    return uuid.uuid5(DERIVED_NAMESPACE, f"{contribution_id}/{version}/triage/auto:{outcome}")


def derived_id(cause: str | uuid.UUID, part: str) -> uuid.UUID:
    return uuid.uuid5(DERIVED_NAMESPACE, f"{cause}/triage/{part}")


def author_key(platform: str, author: str) -> str:
    return contribution_key(platform, author)


# -- folding ----------------------------------------------------------------------------------


def fold_report(item: QueueItem, event: ContributionReported) -> QueueItem:
    report = Report(
        event_id=str(event.event_id),
        reporter=event.reporter,
        reason=event.reason,
        reason_source=event.reason_source,
        details=event.details,
        at=event.occurred_at,
        version=event.contribution_version,
        notice=event.notice,
    )
    return item.model_copy(update={"reports": [*item.reports, report]})


def appealed(item: QueueItem, event: AppealFiled) -> tuple[str | None, str | None]:
    """What an appeal is against: (event id, who decided; None = the policy).

    The last human decision on the version the appeal names (the decisions topic orders
    them with the appeal), else that version's automatic outcome — a restriction for an
    author's appeal, the approval for a reporter's: both known from the event alone, so the
    answer does not depend on whether a newer version was folded first.
    """
    version = event.contribution_version
    human = next((d for d in reversed(item.decisions) if d.version == version), None)
    if human is not None:
        return human.event_id, human.by
    outcome = "hidden" if event.appellant_role == "author" else "approved"
    return str(auto_outcome_id(item.contribution_id, version, outcome)), None


def fold_appeal(item: QueueItem, event: AppealFiled) -> QueueItem:
    against, by = appealed(item, event)
    appeal = Appeal(
        event_id=str(event.event_id),
        appellant=event.appellant,
        appellant_role=event.appellant_role,
        statement=event.statement,
        at=event.occurred_at,
        against=against,
        against_by=by,
    )
    return item.model_copy(update={"appeals": [*item.appeals, appeal]})


def fold_appeal_decided(item: QueueItem, event: AppealDecided) -> tuple[QueueItem, bool]:
    """The item after the appeal decision, and whether it was recorded (not refused)."""
    appeal = next((a for a in item.appeals if a.event_id == event.appeal_id), None)
    if appeal is None or appeal.result is not None or appeal.against_by == event.moderator:
        refused = Decision(
            decision=f"appeal_{event.result}",
            by=event.moderator,
            at=event.occurred_at,
            statement=event.reply,
            version=event.contribution_version,
            event_id=str(event.event_id),
            appeal_id=event.appeal_id,
        )
        return item.model_copy(update={"conflicts": [*item.conflicts, refused]}), False
    decided = appeal.model_copy(
        update={
            "result": event.result,
            "decided_by": event.moderator,
            "decided_at": event.occurred_at,
            "reply": event.reply,
        }
    )
    update: dict[str, Any] = {
        "appeals": [decided if a.event_id == appeal.event_id else a for a in item.appeals]
    }
    if event.result == "reversed":
        reversal = Decision(
            decision=_APPEAL_REVERSAL[appeal.appellant_role],
            by=event.moderator,
            at=event.occurred_at,
            reason_code="appeal_reversed",
            statement=event.reply,
            version=event.contribution_version,
            event_id=str(event.event_id),
            reverses=appeal.against,
            appeal_id=appeal.event_id,
        )
        update["decisions"] = [*item.decisions, reversal]
    return item.model_copy(update=update), True


def fold_sanction(item: QueueItem, event: AuthorSanctioned) -> QueueItem:
    return item.model_copy(update={"sanctions": [*item.sanctions, sanction_of(event)]})


def sanction_of(event: AuthorSanctioned) -> Sanction:
    return Sanction(
        event_id=str(event.event_id),
        author=event.author,
        action=event.action,
        until=event.until,
        by=event.moderator,
        at=event.occurred_at,
        reason_code=event.reason_code,
        statement=event.statement,
    )


def fold_lift(item: QueueItem, event: SanctionLifted) -> tuple[QueueItem, Sanction | None]:
    target = next((s for s in item.sanctions if s.event_id == event.sanction_id), None)
    if target is None or target.lifted_at is not None:
        return item, None
    lifted = target.model_copy(
        update={
            "lifted_at": event.occurred_at,
            "lifted_by": event.moderator,
            "lifted_reason": event.reason,
        }
    )
    sanctions = [lifted if s.event_id == target.event_id else s for s in item.sanctions]
    return item.model_copy(update={"sanctions": sanctions}), lifted


def erase(item: QueueItem, at: datetime | None = None) -> QueueItem:
    """The item without its author's personal data: texts, author id, link, translations,
    the author's appeals and report details read ``[erased]``. Idempotent; the moderation
    record (ids, times, scores, reasons, decisions, statements) stays."""
    c = item.contribution
    contribution = c.model_copy(
        update={
            "title": ERASED_TEXT if c.title is not None else None,
            "body": ERASED_TEXT,
            "author": ERASED_TEXT,
            "url": None,
        }
    )
    appeals = [
        a.model_copy(update={"appellant": ERASED_TEXT, "statement": ERASED_TEXT})
        if a.appellant_role == "author"
        else a
        for a in item.appeals
    ]
    return item.model_copy(
        update={
            "contribution": contribution,
            "translations": [t.model_copy(update={"text": ERASED_TEXT}) for t in item.translations],
            "reports": [
                r.model_copy(update={"details": ERASED_TEXT}) if r.details else r
                for r in item.reports
            ],
            "appeals": appeals,
            "sanctions": [s.model_copy(update={"author": ERASED_TEXT}) for s in item.sanctions],
            "erased_at": item.erased_at or at,
        }
    )


# -- the author's sanctions, shared across their contributions --------------------------------


def merge_sanction(raw: str | None, sanction: Sanction) -> str:
    """The author's sanction record (JSON) with ``sanction`` set: a set keyed by event id."""
    record: dict[str, Any] = json.loads(raw) if raw else {}
    record[sanction.event_id] = {
        "action": sanction.action,
        "at": sanction.at.isoformat(),
        "until": sanction.until.isoformat() if sanction.until else None,
        "lifted_at": sanction.lifted_at.isoformat() if sanction.lifted_at else None,
        "by": sanction.by,
    }
    return json.dumps(record, sort_keys=True)


def restricting_sanction(raw: str | None, created_at: datetime) -> str | None:
    """Words for the sanction that pre-moderates a contribution written at ``created_at``."""
    if not raw:
        return None
    for event_id, s in sorted(json.loads(raw).items(), key=lambda kv: kv[1]["at"]):
        if s["action"] not in RESTRICTING:
            continue
        start = datetime.fromisoformat(s["at"])
        ends = [datetime.fromisoformat(v) for v in (s["until"], s["lifted_at"]) if v]
        if start <= created_at and all(created_at < end for end in ends):
            return f"{s['action']} by {s['by']} since {start:%Y-%m-%d}, {event_id[:8]}"
    return None


# -- facts for the policy ---------------------------------------------------------------------


def report_facts(item: QueueItem) -> dict[str, Any]:
    """People's reports as the policy sees them (each reporter counted once per reason)."""
    pairs = {(r.reporter, r.reason) for r in item.reports}
    counts = Counter(reason for _, reason in pairs)
    grounds = sorted({r.notice.legal_ground for r in item.reports if r.notice is not None})
    return {
        "reporters": item.reporters(),
        "report_reasons": tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "illegal_grounds": tuple(grounds),
    }


# -- automatic outcome and statements of reasons ----------------------------------------------


def hidden_since(item: QueueItem, decision: PolicyDecision) -> datetime | None:
    """When the policy's restriction took effect: reaching the queue, or the report that
    completed the number of reporters (its time comes from the report event)."""
    if item.queued_at is None:
        return None
    if decision.rule != "reports":
        return item.queued_at
    seen: set[str] = set()
    for report in sorted(item.reports, key=lambda r: (r.at, r.event_id)):
        seen.add(report.reporter)
        if len(seen) == item.reporters():
            return max(item.queued_at, report.at)
    return item.queued_at


def record(
    item: QueueItem, decision: PolicyDecision | None, auto_id: uuid.UUID | None
) -> dict[str, Any]:
    """``automatic`` and ``statements`` of the item, recomputed from its facts (pure)."""
    version = item.version
    automatic: list[AutomaticOutcome] = []
    statements: list[StatementOfReasons] = []
    human = [d for d in item.decisions if d.version == version]
    if decision is not None and decision.state in ("auto_approved", "auto_hidden"):
        since = hidden_since(item, decision) if decision.state == "auto_hidden" else item.queued_at
        if since is not None and auto_id is not None and not any(d.at < since for d in human):
            outcome = "hidden" if decision.state == "auto_hidden" else "approved"
            automatic.append(
                AutomaticOutcome(
                    event_id=str(auto_id),
                    outcome=outcome,
                    version=version,
                    at=since,
                    rule=decision.rule,
                )
            )
            if outcome == "hidden":
                statements.append(_auto_statement(item, decision, str(auto_id), since, bool(human)))
    for index, d in enumerate(item.decisions):
        if d.decision in RESTRICTIVE_HUMAN and d.event_id is not None:
            later = [x for x in item.decisions[index + 1 :] if x.version == d.version]
            statements.append(_human_statement(item, d, superseded=bool(later)))
    for sanction in item.sanctions:
        if sanction.action in ("suspend", "ban"):
            statements.append(_sanction_statement(item, sanction))
    return {"automatic": automatic, "statements": statements}


def outcome_event_id_of(decision_event_id: str, outcome: str) -> uuid.UUID:
    """The id of the outcome a human decision causes (Envelope.derive's rule)."""
    name = f"{decision_event_id}/triage/ModerationOutcome/outcome:{outcome}"
    return uuid.uuid5(DERIVED_NAMESPACE, name)


def _source(item: QueueItem, reports_decided: bool) -> Source:
    notices = [r.notice for r in item.reports if r.notice is not None]
    if any(n.trusted_flagger for n in notices):
        return "trusted_flagger"
    if notices:
        return "article_16"
    return "other_notification" if reports_decided and item.reports else "voluntary"


def _ground(item: QueueItem, category: str) -> dict[str, Any]:
    notices = [r.notice for r in item.reports if r.notice is not None]
    if category == "illegal" or (category == "reports" and notices):
        first = notices[0] if notices else None
        return {
            "ground": "illegal",
            "legal_ground": first.legal_ground if first else "illegal content",
            "illegal_explanation": first.explanation[:2000] if first else None,
        }
    return {
        "ground": "incompatible",
        "incompatible_ground": f"{item.contribution.platform} moderation policy: {category}",
    }


def _common(item: QueueItem, puid_of: str, decided_at: datetime) -> dict[str, Any]:
    c = item.contribution
    return {
        "puid": statement_puid(puid_of),
        "outcome_event_id": puid_of,
        "contribution_id": item.contribution_id,
        "contribution_version": item.version,
        "platform": c.platform,
        "space": c.space,
        "kind": c.kind,
        "content_language": item.language_code,
        "content_date": c.created_at.date(),
        "application_date": decided_at.date(),
        "decided_at": decided_at,
    }


def _top_reason(item: QueueItem) -> str:
    reasons = report_facts(item)["report_reasons"]
    return reasons[0][0] if reasons else "other"


def _auto_statement(
    item: QueueItem, decision: PolicyDecision, auto_id: str, since: datetime, reviewed: bool
) -> StatementOfReasons:
    category = _top_reason(item) if decision.rule == "reports" else decision.rule
    scored = decision.rule not in ("reports", "premoderation")
    facts = "Hidden automatically until a moderator confirms it: " + "; ".join(decision.reasons)
    return StatementOfReasons(
        **_common(item, auto_id, since),
        restriction="hidden",
        category=category,
        **_ground(item, "reports" if decision.rule == "reports" else category),
        facts=facts[:MAX_FACTS],
        source=_source(item, decision.rule == "reports"),
        automated_detection=scored,
        automated_decision="fully",
        superseded=reviewed,
    )


def _human_statement(item: QueueItem, d: Decision, *, superseded: bool) -> StatementOfReasons:
    outcome_id = str(outcome_event_id_of(str(d.event_id), RESTRICTIVE_HUMAN[d.decision]))
    category = d.reason_code or (_top_reason(item) if item.reports else "other")
    flagged = [r for r in item.reasons if "≥" in r]
    parts = [f"Rejected by a moderator ({category})"]
    if d.statement:
        parts.append(d.statement)
    if flagged:
        parts.append("flagged: " + "; ".join(flagged))
    return StatementOfReasons(
        **{**_common(item, outcome_id, d.at), "contribution_version": d.version or item.version},
        restriction="rejected",
        category=category,
        **_ground(item, category),
        facts=". ".join(parts)[:MAX_FACTS],
        source=_source(item, True),
        automated_detection=bool(flagged),
        automated_decision="not",
        decided_by=d.by,
        superseded=superseded,
    )


def _sanction_statement(item: QueueItem, sanction: Sanction) -> StatementOfReasons:
    category = sanction.reason_code or "other"
    facts = f"Account {sanction.action}: {sanction.statement}"
    return StatementOfReasons(
        **{**_common(item, sanction.event_id, sanction.at), "contribution_version": item.version},
        restriction=sanction.action,
        category=category,
        **_ground(item, category),
        facts=facts[:MAX_FACTS],
        source=_source(item, True),
        automated_detection=False,
        automated_decision="not",
        end_date=sanction.until.date() if sanction.until else None,
        decided_by=sanction.by,
        superseded=sanction.lifted_at is not None,
    )


# -- answers to people ------------------------------------------------------------------------


def notice(
    item: QueueItem,
    cause: str | uuid.UUID,
    part: str,
    *,
    role: str,
    recipient: str,
    kind: str,
    message: str,
    occurred_at: datetime,
    trace_id: str,
    **fields: Any,
) -> PartyNotified:
    """A notice whose id derives from its cause (an event id) and its part."""
    return PartyNotified(
        event_id=derived_id(cause, f"notice:{part}"),
        trace=Trace(trace_id=trace_id, causation_id=str(cause), producer="triage"),
        contribution_id=item.contribution_id,
        contribution_version=item.version,
        occurred_at=occurred_at,
        platform=item.contribution.platform,
        recipient_role=role,
        recipient=recipient,
        kind=kind,
        message=message,
        **fields,
    )


def reporters_answered(item: QueueItem, decision: Decision) -> list[str]:
    """Reporters whose reports this decision answers: made since the previous decision."""
    answers = [d for d in item.decisions if d.decision != "requeue"]
    index = next(i for i, d in enumerate(answers) if d.event_id == decision.event_id)
    previous = answers[index - 1].at if index > 0 else None
    return sorted(
        {
            r.reporter
            for r in item.reports
            if r.at <= decision.at and (previous is None or r.at > previous)
        }
    )


def statement_for(item: QueueItem, outcome_id: str) -> StatementOfReasons | None:
    puid = statement_puid(outcome_id)
    return next((s for s in item.statements if s.puid == puid), None)
