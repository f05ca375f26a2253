"""triage: the only writer of queue items — a projection of the log, and what it owes platforms.

The queue item is a pure function of its contribution's events (``hemicycle rebuild`` reaches the
same bytes as the live store):

* every event about a contribution is counted once (the store records event ids in the same
  atomic write as the item) and ``revision`` is that count, whatever the batching;
* events of different topics commute: each event updates its own facts (language, scores,
  translations, decisions), and state, priority, reasons and ``queued_at`` are recomputed from
  those facts by the policy after every event; timestamps come from the events, never the clock;
* a newer version replaces the content and drops the old version's results; results for an
  older version are counted and otherwise ignored; results that arrive before their version's
  ``LanguageIdentified`` wait in the store's cache (namespace ``triage-pending``);
* every decision is recorded, on whatever version, in the decisions topic's order; the state
  follows the last decision on the current version, else the policy. A decision made on a view
  that missed a later decision (``seen_decisions``) is kept under ``conflicts`` instead.

Outcomes owed to the platform: a human decision on the current version emits a
``ModerationOutcome`` derived from the decision event; reaching ``auto_approved`` or
``auto_hidden`` emits one whose id is derived from (contribution, version, outcome). **Emit on
replay**: an event the store has already applied (a crash between the store write and the
publish) re-emits what the stored state owes for it, with the same ids, and delivery drops the
repeat — an outcome is never lost between the save and the publish.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pipeline.config import Settings
from pipeline.errors import TransientError
from pipeline.logs import get_logger
from pipeline.policy import Policy, PolicyDecision, PolicyInputs, decide, load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionTranslated,
    LanguageIdentified,
    ModerationDecided,
    ModerationOutcome,
    Translation,
    TranslationCorrected,
)
from pipeline.schemas.codec import decode_event
from pipeline.schemas.envelope import Envelope
from pipeline.schemas.moderation import (
    AppealDecided,
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    ErasureRequested,
    SanctionLifted,
)
from pipeline.schemas.queue import Decision, QueueItem, Sanction
from pipeline.store.base import QueueStore, SaveResult, Write
from pipeline.store.namespaces import CacheNamespace
from pipeline.workers import triage_record as rec
from pipeline.workers.runner import Stage
from pipeline.workers.triage_record import auto_outcome_id

log = get_logger("triage")

_OUTCOMES = {"auto_approved": "approved", "auto_hidden": "hidden"}
_HUMAN_STATES = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
# What the platform is told; a requeue (an undone first decision) puts it back under review.
_HUMAN_OUTCOMES = {**_HUMAN_STATES, "requeue": "needs_review"}
PENDING: CacheNamespace = "triage-pending"
PENDING_TTL_S = 7 * 24 * 3600


class ConcurrentWriteError(TransientError, RuntimeError):
    """The item kept changing under us; the runner retries the event."""


@dataclass
class _Plan:
    """One contribution's events folded in memory, before the store write."""

    events: list[Any]
    write: Write | None = None
    outputs: list[Envelope] = field(default_factory=list)
    counted: list[Any] = field(default_factory=list)
    parked: list[Any] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # park keys this write consumes
    sanctions: list[tuple[str, Sanction]] = field(default_factory=list)  # author records


def _later(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


TriageInput = (
    LanguageIdentified
    | ContributionScored
    | ContributionTranslated
    | TranslationCorrected
    | ModerationDecided
    | ContributionReported
    | AppealFiled
    | AppealDecided
    | AuthorSanctioned
    | SanctionLifted
    | ErasureRequested
)


class TriageStage(Stage[TriageInput]):
    name: ClassVar[str] = "triage"
    inputs: ClassVar[tuple[str, ...]] = (
        "identified",
        "scored",
        "translated",
        "corrections",
        "decisions",
        "reports",
    )
    accepts: ClassVar[tuple[type[Envelope], ...]] = (
        LanguageIdentified,
        ContributionScored,
        ContributionTranslated,
        TranslationCorrected,
        ModerationDecided,
        ContributionReported,
        AppealFiled,
        AppealDecided,
        AuthorSanctioned,
        SanctionLifted,
        ErasureRequested,
    )
    # Events about the contribution as a whole: applied to whatever version is current.
    RECORD_EVENTS: ClassVar[tuple[type, ...]] = (
        ModerationDecided,
        ContributionReported,
        AppealFiled,
        AppealDecided,
        AuthorSanctioned,
        SanctionLifted,
        ErasureRequested,
    )

    def __init__(
        self,
        store: QueueStore,
        policy: Policy | None = None,
        *,
        wait_for_scores: bool = True,
        max_conflicts: int = 5,
    ) -> None:
        self.store = store
        self.policy = policy or load_policy()
        self.wait_for_scores = wait_for_scores
        self.max_conflicts = max_conflicts
        self._authors: dict[str, str] = {}  # author sanction records read for this batch
        self._authors_read: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> TriageStage:
        policy = load_policy(settings.policy_file)
        policy = policy.model_copy(update={"reports_hide_after": settings.reports_hide_after})
        return cls(store, policy, wait_for_scores=settings.triage_wait_for_scores)

    def process(self, events: Sequence[TriageInput]) -> list[Envelope]:
        """Apply a batch: each contribution's events in order, folded into one write.

        A contribution's results mostly arrive together: the batch's items are read in one
        multi-get, folded in memory and written in one :meth:`QueueStore.save_many` (every event
        id recorded with its item, atomically). A write refused as a conflict or a duplicate
        (a replay) is redone on its own. The items and the outputs are those of applying the
        events one by one.
        """
        groups: dict[str, list[Any]] = {}
        for event in events:
            groups.setdefault(event.contribution_id, []).append(event)
        currents = self.store.get_many(groups)
        keys = [
            self._pending_key(e.contribution_id, e.contribution_version)
            for e in events
            if isinstance(e, LanguageIdentified)
        ]
        waiting = self.store.cache_get_many(PENDING, keys) if keys else {}
        authors = {
            rec.author_key(e.contribution.platform, e.contribution.author)
            for e in events
            if isinstance(e, LanguageIdentified)
        }
        self._authors = self.store.cache_get_many(rec.AUTHOR_SANCTIONS, authors) if authors else {}
        self._authors_read = authors
        plans = [self._plan(group, currents.get(cid), waiting) for cid, group in groups.items()]
        writes = [plan.write for plan in plans if plan.write is not None]
        results = iter(self.store.save_many(writes)) if writes else iter(())
        outputs: dict[uuid.UUID, Envelope] = {}  # a replayed batch owes each outcome once
        for plan in plans:
            if plan.write is not None and next(results) is not SaveResult.SAVED:
                done = self.apply_many(plan.events)  # changed meanwhile, or a replay
            else:
                done = self._finish(plan)
            for output in done:
                outputs.setdefault(output.event_id, output)
        return list(outputs.values())

    def apply(self, event: Any) -> list[Envelope]:
        """Apply one event; return the outcomes it caused or, if applied before, owes."""
        return self.apply_many([event])

    def apply_many(self, events: Sequence[Any]) -> list[Envelope]:
        """Apply events of one contribution, in order, as one write; the outcomes they cause."""
        contribution_id = events[0].contribution_id
        for _ in range(self.max_conflicts):
            plan = self._plan(events, self.store.get(contribution_id), None)
            if plan.write is not None:
                result = self.store.save_many([plan.write])[0]
                if result is SaveResult.CONFLICT:
                    continue
                if result is SaveResult.DUPLICATE:
                    if len(events) == 1:
                        return self._replayed(events[0])
                    # Some were applied before (a replay): apply them one by one.
                    return [out for event in events for out in self.apply(event)]
            return self._finish(plan)
        raise ConcurrentWriteError(f"item {contribution_id} kept changing")

    def _plan(
        self, events: Sequence[Any], current: QueueItem | None, waiting: dict[str, str] | None
    ) -> _Plan:
        """Fold ``events`` onto ``current`` in memory: the write to make and what follows it.

        Events that arrive ahead of their version's ``LanguageIdentified`` wait, and are folded
        right after it, before anything that arrived later: each topic's order is kept.
        ``waiting`` holds parked events already read (by park key); None reads them here.
        """
        contribution_id = events[0].contribution_id
        plan = _Plan(events=list(events))
        item = current
        queue = list(events)
        position = 0
        taken: set[uuid.UUID] = set()  # the log may hold an event twice (a retried publish)
        while position < len(queue):
            event = queue[position]
            position += 1
            if event.event_id in taken:
                continue
            folded = self._fold(item, event)
            if folded is None:
                plan.parked.append(event)  # ahead of its contribution: applied when it lands
                continue
            taken.add(event.event_id)
            item, caused = folded
            plan.outputs += caused
            plan.counted.append(event)
            if isinstance(event, AuthorSanctioned | SanctionLifted):
                plan.sanctions += _sanctions_touched(item, event)
            if isinstance(event, LanguageIdentified):
                version = event.contribution_version
                key = self._pending_key(contribution_id, version)
                raw = waiting.get(key) if waiting is not None else self._parked_raw(key)
                parked = self._decode_parked(raw)
                if parked:
                    plan.released.append(key)
                parked += [e for e in plan.parked if e.contribution_version == version]
                plan.parked = [e for e in plan.parked if e.contribution_version != version]
                seen = {e.event_id for e in plan.counted} | {e.event_id for e in queue[position:]}
                fresh = {e.event_id: e for e in parked if e.event_id not in seen}
                queue[position:position] = list(fresh.values())
        if plan.counted and item is not None:
            base = current.revision if current is not None else 0
            plan.write = Write(
                item.model_copy(update={"revision": base + len(plan.counted)}),
                str(plan.counted[0].event_id),
                base,
                [str(e.event_id) for e in plan.counted[1:]],
            )
        return plan

    def _finish(self, plan: _Plan) -> list[Envelope]:
        """After the write: empty the park keys it consumed, park what must wait."""
        for key in plan.released:
            self.store.cache_set(PENDING, key, "[]", ttl_s=60)
        for event in plan.parked:
            self._park(event)
        for platform, sanction in plan.sanctions:
            self._record_sanction(platform, sanction)
        return plan.outputs

    def _record_sanction(self, platform: str, sanction: Sanction) -> None:
        """Keep the author's sanction where their other contributions' triage finds it."""
        key = rec.author_key(platform, sanction.author)
        raw = self.store.cache_get(rec.AUTHOR_SANCTIONS, key)
        merged = rec.merge_sanction(raw, sanction)
        if merged != raw:
            self.store.cache_set(rec.AUTHOR_SANCTIONS, key, merged)

    # -- folding one event --------------------------------------------------------------------

    def _fold(self, item: QueueItem | None, event: Any) -> tuple[QueueItem, list[Envelope]] | None:
        """The item after ``event`` and the outcomes it causes; None if it must wait."""
        if isinstance(event, LanguageIdentified):
            changed = self._identified(item, event)
        elif item is None or event.contribution_version > item.version:
            return None
        elif isinstance(event, ModerationDecided):
            changed = self._decided(item, event)
        elif isinstance(event, self.RECORD_EVENTS):
            changed = self._recorded(item, event)
        elif event.contribution_version < item.version:
            changed = item  # a result for an older version: counted, changes nothing
        elif isinstance(event, ContributionTranslated):
            changed = self._translated(item, event)
        elif isinstance(event, TranslationCorrected):
            changed = self._corrected(item, event)
        else:
            changed = self._scored(item, event)
        stamp = event.occurred_at if item is None else _later(item.updated_at, event.occurred_at)
        if changed.erased_at is not None:  # late results of an erased item are erased too
            changed = rec.erase(changed)
        changed = self._settle(changed.model_copy(update={"updated_at": stamp}))
        return changed, self._caused(item, changed, event)

    def _identified(self, current: QueueItem | None, event: LanguageIdentified) -> QueueItem:
        if current is not None and event.contribution_version < current.version:
            return current
        if current is None or event.contribution_version > current.version:
            c = event.contribution
            kept: dict[str, Any] = {}
            if current is not None:  # the record of the contribution outlives its versions
                kept = {
                    name: getattr(current, name)
                    for name in (
                        "decisions",
                        "conflicts",
                        "revision",
                        "reports",
                        "appeals",
                        "sanctions",
                        "erased_at",
                    )
                }
            return QueueItem(
                contribution=c,
                state="pending",
                language=event.language,
                submitted_at=event.occurred_at,
                updated_at=event.occurred_at,
                author_restricted=rec.restricting_sanction(
                    self._author_record(c.platform, c.author), c.created_at
                ),
                **kept,
            )
        return current.model_copy(update={"language": event.language})

    def _author_record(self, platform: str, author: str) -> str | None:
        key = rec.author_key(platform, author)
        if key in self._authors_read:
            return self._authors.get(key)
        return self.store.cache_get(rec.AUTHOR_SANCTIONS, key)

    @staticmethod
    def _recorded(item: QueueItem, event: Any) -> QueueItem:
        """A report, appeal, appeal decision, sanction or lift, on any version."""
        if isinstance(event, ContributionReported):
            return rec.fold_report(item, event)
        if isinstance(event, AppealFiled):
            return rec.fold_appeal(item, event)
        if isinstance(event, AppealDecided):
            return rec.fold_appeal_decided(item, event)[0]
        if isinstance(event, AuthorSanctioned):
            return rec.fold_sanction(item, event)
        if isinstance(event, ErasureRequested):
            return rec.erase(item, event.occurred_at)
        return rec.fold_lift(item, event)[0]

    @staticmethod
    def _scored(current: QueueItem, event: ContributionScored) -> QueueItem:
        """Scores of the text as written, of its English translation, or a cluster update.

        Toxicity of a translation replaces the original's (the original was not covered); the
        cluster is the largest reported; at equal size a flood's (copies in one language) is
        kept over a campaign's (``m-…``, across languages), which then holds the same copies.
        Each order of these events gives the same item.
        """
        update: dict[str, Any] = {}
        if event.cluster_id is not None:
            mine = _cluster_rank(current.cluster_id, current.cluster_size)
            if _cluster_rank(event.cluster_id, event.cluster_size) > mine:
                update |= {"cluster_id": event.cluster_id, "cluster_size": event.cluster_size}
        if event.scope == "original":
            kept = [s for s in current.scores if s.text_source == "translation"]
            fresh = event.scores if not kept else [s for s in event.scores if s.category == "spam"]
            update |= {
                "scores": _sorted_scores(fresh + kept),
                "spam_signals": event.spam_signals,
                "spam_score": event.spam_score,
                "scored": True,
                "scored_at": event.occurred_at,
                "toxicity_available": event.toxicity_available or bool(kept),
                "unavailable_reason": None if kept else event.unavailable_reason,
                "author_prior_contributions": event.author_prior_contributions,
            }
        elif event.scope == "translation":
            spam = [s for s in current.scores if s.category == "spam"]
            update |= {
                "scores": _sorted_scores(event.scores + spam),
                "toxicity_available": True,
                "unavailable_reason": None,
            }
        return current.model_copy(update=update)

    @staticmethod
    def _translated(current: QueueItem, event: ContributionTranslated) -> QueueItem:
        """Machine translations replace earlier ones of the same field and language, never a
        translator's (``human``) text for the same version — which takes the machine route."""
        machine = {(t.field, t.target_language): t for t in event.translations}
        kept: list[Translation] = []
        for t in current.translations:
            slot = (t.field, t.target_language)
            if t.origin != "human":
                if slot not in machine:
                    kept.append(t)
                continue
            if slot in machine and not t.route:
                t = t.model_copy(update={"route": machine[slot].route})
            machine.pop(slot, None)
            kept.append(t)
        gone = {u.target_language for u in event.unavailable} | {
            t.target_language for t in event.translations
        }
        unavailable = [u for u in current.translations_unavailable if u.target_language not in gone]
        return current.model_copy(
            update={
                "translations": _sorted_translations(kept + list(machine.values())),
                "translations_unavailable": sorted(
                    unavailable + list(event.unavailable), key=lambda u: u.target_language
                ),
            }
        )

    @staticmethod
    def _corrected(current: QueueItem, event: TranslationCorrected) -> QueueItem:
        """A translator's correction: the translation becomes ``human``."""
        slot = (event.field, event.target_language)
        before = next(
            (t for t in current.translations if (t.field, t.target_language) == slot), None
        )
        human = Translation(
            field=event.field,
            target_language=event.target_language,
            text=event.text,
            origin="human",
            engine=None,
            model_id=None,
            route=before.route if before is not None else [],
        )
        kept = [t for t in current.translations if (t.field, t.target_language) != slot]
        return current.model_copy(update={"translations": _sorted_translations([*kept, human])})

    @staticmethod
    def _decided(current: QueueItem, event: ModerationDecided) -> QueueItem:
        decision = Decision(
            decision=event.decision,
            by=event.moderator,
            at=event.occurred_at,
            reason_code=event.reason_code,
            statement=event.statement,
            bulk_id=event.bulk_id,
            version=event.contribution_version,
            event_id=str(event.event_id),
        )
        seen = event.seen_decisions
        if seen is not None and len(current.decisions) > seen:
            log.warning(
                "conflicting decision kept aside",
                extra={"contribution_id": event.contribution_id, "by": event.moderator},
            )
            return current.model_copy(update={"conflicts": [*current.conflicts, decision]})
        if event.contribution_version < current.version:
            log.info(
                "decision about an older version recorded; the current version is not decided",
                extra={"contribution_id": event.contribution_id, "by": event.moderator},
            )
        return current.model_copy(update={"decisions": [*current.decisions, decision]})

    # -- state from facts ---------------------------------------------------------------------

    def _settle(self, item: QueueItem) -> QueueItem:
        """State, priority, reasons and ``queued_at`` from the item's facts (pure)."""
        human = _last_decision(item)
        decision: PolicyDecision | None = None
        if not item.scored:
            state = "pending" if self.wait_for_scores else "needs_review"
            priority, reasons = 0.0, (["waiting for scores"] if self.wait_for_scores else [])
            queued_at = None if self.wait_for_scores else item.submitted_at
        else:
            facts = PolicyInputs(
                space=item.contribution.space,
                language=item.language_code,
                scores={s.category: s.value for s in item.scores},
                toxicity_available=bool(item.toxicity_available),
                unavailable_reason=item.unavailable_reason,
                signal_explanations=tuple(s.explanation for s in item.spam_signals),
                cluster_id=item.cluster_id,
                cluster_size=item.cluster_size,
                author_prior_contributions=item.author_prior_contributions,
                author_premoderated=item.author_restricted,
                **rec.report_facts(item),
            )
            decision = decide(self.policy, facts)
            state, priority, reasons = decision.state, decision.priority, list(decision.reasons)
            scored_at = item.scored_at or item.submitted_at
            queued_at = _later(item.submitted_at, scored_at) if state != "pending" else None
        if human is not None and human.decision in _HUMAN_STATES:  # not a requeue
            state = _HUMAN_STATES[human.decision]
        settled = item.model_copy(
            update={
                "state": state,
                "priority": priority,
                "reasons": reasons,
                "queued_at": queued_at,
            }
        )
        auto = _OUTCOMES.get(decision.state) if decision is not None else None
        auto_id = auto_outcome_id(item.contribution_id, item.version, auto) if auto else None
        return settled.model_copy(update=rec.record(settled, decision, auto_id))

    # -- outcomes -----------------------------------------------------------------------------

    def _caused(self, before: QueueItem | None, after: QueueItem, event: Any) -> list[Envelope]:
        """What the change from ``before`` to ``after`` owes the platform: outcomes, and
        the answers to reporters and authors."""
        if isinstance(event, ModerationDecided | AppealDecided):
            known = {d.event_id for d in before.decisions} if before is not None else set()
            outputs = self._decision_owes(after, event, str(event.event_id) not in known)
            decided = before is not None and before.open_appeals() != after.open_appeals()
            if isinstance(event, AppealDecided) and decided:
                outputs.append(self._appeal_notice(after, event))
            return outputs
        outputs = self._record_owes(after, event)
        was = before.state if before is not None and before.version == after.version else None
        if after.state in _OUTCOMES and after.state != was:
            outputs += self._auto_owes(after, event)
        return outputs

    def _decision_owes(self, item: QueueItem, event: Any, recorded: bool) -> list[Envelope]:
        """A human decision on the current version: its outcome (with the statement of
        reasons of a restriction), and the answers to its reporters and its author."""
        decision = next((d for d in item.decisions if d.event_id == str(event.event_id)), None)
        if not recorded or decision is None or decision.version != item.version:
            return []
        outcome = self._human_outcome(item, event, decision)
        outputs: list[Envelope] = [outcome]
        answered = (
            rec.reporters_answered(item, decision) if decision.decision in _HUMAN_STATES else []
        )
        for reporter in answered:
            outputs.append(
                rec.notice(
                    item,
                    event.event_id,
                    f"reporter:{reporter}",
                    role="reporter",
                    recipient=reporter,
                    kind="report_decided",
                    outcome=outcome.outcome,
                    message=f"The contribution you reported was {outcome.outcome}.",
                    occurred_at=event.occurred_at,
                    trace_id=event.trace.trace_id,
                )
            )
        if outcome.statement_of_reasons is not None:
            outputs.append(self._restriction_notice(item, outcome, event.occurred_at))
        return outputs

    def _record_owes(self, after: QueueItem, event: Any) -> list[Envelope]:
        """The receipt of a report; the news of a sanction or of its lifting."""
        if isinstance(event, ContributionReported):
            return [
                rec.notice(
                    after,
                    event.event_id,
                    "received",
                    role="reporter",
                    recipient=event.reporter,
                    kind="report_received",
                    message="Your report was received; a moderator will look at it.",
                    occurred_at=event.occurred_at,
                    trace_id=event.trace.trace_id,
                )
            ]
        if isinstance(event, AuthorSanctioned):
            return [self._sanction_notice(after, event)]
        if isinstance(event, ErasureRequested) and after.erased_at == event.occurred_at:
            return [self._erased_outcome(after, event)]
        if isinstance(event, SanctionLifted):
            lifted = next((s for s in after.sanctions if s.event_id == event.sanction_id), None)
            if lifted is not None and lifted.lifted_at == event.occurred_at:
                return [self._lift_notice(after, event, lifted)]
        return []

    def _auto_owes(self, item: QueueItem, event: Any) -> list[Envelope]:
        outcome = self._auto_outcome(item, event)
        outputs: list[Envelope] = [outcome]
        if outcome.statement_of_reasons is not None:
            outputs.append(self._restriction_notice(item, outcome, outcome.occurred_at))
        return outputs

    def _human_outcome(self, item: QueueItem, event: Any, decision: Decision) -> ModerationOutcome:
        outcome = _HUMAN_OUTCOMES[decision.decision]
        made: ModerationOutcome = event.derive(
            ModerationOutcome,
            producer=self.name,
            part=f"outcome:{outcome}",
            contribution_version=item.version,
            platform=item.contribution.platform,
            outcome=outcome,
            automatic=False,
            reasons=[decision.statement] if decision.statement else [],
            reason_code=decision.reason_code,
            decided_by=decision.by,
        )
        statement = rec.statement_for(item, str(made.event_id))
        return made.model_copy(update={"statement_of_reasons": statement})

    def _auto_outcome(self, item: QueueItem, event: Any) -> ModerationOutcome:
        outcome = _OUTCOMES[item.state]
        outcome_id = auto_outcome_id(item.contribution_id, item.version, outcome)
        made: ModerationOutcome = event.derive(
            ModerationOutcome,
            producer=self.name,
            event_id=outcome_id,
            contribution_version=item.version,
            occurred_at=event.occurred_at,
            platform=item.contribution.platform,
            outcome=outcome,
            automatic=True,
            reasons=item.reasons,
        )
        statement = rec.statement_for(item, str(outcome_id))
        return made.model_copy(update={"statement_of_reasons": statement})

    def _restriction_notice(
        self, item: QueueItem, outcome: ModerationOutcome, at: datetime
    ) -> Envelope:
        return rec.notice(
            item,
            outcome.event_id,
            "author",
            role="author",
            recipient=item.contribution.author,
            kind="restriction",
            outcome=outcome.outcome,
            message=f"Your contribution was {outcome.outcome}; the statement of reasons says why.",
            statement_of_reasons=outcome.statement_of_reasons,
            occurred_at=at,
            trace_id=outcome.trace.trace_id,
        )

    def _sanction_notice(self, item: QueueItem, event: AuthorSanctioned) -> Envelope:
        until = f" until {event.until:%Y-%m-%d}" if event.until else ""
        return rec.notice(
            item,
            event.event_id,
            "author",
            role="author",
            recipient=event.author,
            kind="sanction",
            outcome=event.action,
            message=f"Sanction: {event.action}{until}. {event.statement}",
            statement_of_reasons=rec.statement_for(item, str(event.event_id)),
            sanction=event.action,
            until=event.until,
            occurred_at=event.occurred_at,
            trace_id=event.trace.trace_id,
        )

    def _lift_notice(self, item: QueueItem, event: SanctionLifted, lifted: Sanction) -> Envelope:
        return rec.notice(
            item,
            event.event_id,
            "author",
            role="author",
            recipient=lifted.author,
            kind="sanction_lifted",
            outcome="lifted",
            message=f"Your {lifted.action} was lifted: {event.reason}",
            sanction=lifted.action,
            occurred_at=event.occurred_at,
            trace_id=event.trace.trace_id,
        )

    def _erased_outcome(self, item: QueueItem, event: ErasureRequested) -> Envelope:
        erased: Envelope = event.derive(
            ModerationOutcome,
            producer=self.name,
            part="outcome:erased",
            contribution_version=item.version,
            platform=item.contribution.platform,
            outcome="erased",
            automatic=False,
            reasons=[f"personal data erased ({event.scope} request)"],
            decided_by=event.requested_by,
        )
        return erased

    def _appeal_notice(self, item: QueueItem, event: AppealDecided) -> Envelope:
        appeal = next(a for a in item.appeals if a.event_id == event.appeal_id)
        return rec.notice(
            item,
            event.event_id,
            "appellant",
            role=appeal.appellant_role,
            recipient=appeal.appellant,
            kind="appeal_decided",
            outcome=event.result,
            message=event.reply,
            occurred_at=event.occurred_at,
            trace_id=event.trace.trace_id,
        )

    def _replayed(self, event: Any) -> list[Envelope]:
        """What an event applied before still owes: the outcome of the state it led to, and
        the answers it caused (the same ids: delivery drops what was sent)."""
        item = self.store.get(event.contribution_id)
        if item is None:
            return []
        outputs: list[Envelope] = []
        if isinstance(event, ModerationDecided | AppealDecided):
            last = _last_decision(item)
            if last is not None and last.event_id == str(event.event_id):
                outputs += self._decision_owes(item, event, True)
            if isinstance(event, AppealDecided) and any(
                a.event_id == event.appeal_id and a.decided_at == event.occurred_at
                for a in item.appeals
            ):
                outputs.append(self._appeal_notice(item, event))
            return outputs
        if isinstance(event, self.RECORD_EVENTS):
            outputs += self._record_owes(item, event)
            for platform, sanction in _sanctions_touched(item, event):
                self._record_sanction(platform, sanction)
            return outputs
        if event.contribution_version == item.version and item.state in _OUTCOMES:
            outputs += self._auto_owes(item, event)
        if isinstance(event, LanguageIdentified):
            outputs += self._unpark(event)  # the crash may have come before the parked events
        return outputs

    # -- events ahead of their contribution ---------------------------------------------------

    def _pending_key(self, contribution_id: str, version: int) -> str:
        return f"{contribution_id}@{version}"

    def _park(self, event: Any) -> None:
        key = self._pending_key(event.contribution_id, event.contribution_version)
        parked = json.loads(self.store.cache_get(PENDING, key) or "[]")
        raw = event.model_dump_json()
        if raw not in parked:
            parked.append(raw)
            self.store.cache_set(PENDING, key, json.dumps(parked), ttl_s=PENDING_TTL_S)

    def _parked_raw(self, key: str) -> str | None:
        return self.store.cache_get(PENDING, key)

    def _decode_parked(self, raw: str | None) -> list[Any]:
        if not raw or raw == "[]":
            return []
        return [decode_event(one, expected=self.accepts) for one in json.loads(raw)]

    def _parked(self, key: str) -> list[Any]:
        return self._decode_parked(self._parked_raw(key))

    def _unpark(self, event: LanguageIdentified) -> list[Envelope]:
        """Apply what waited for ``event`` (each on its own: some may be applied already)."""
        key = self._pending_key(event.contribution_id, event.contribution_version)
        outcomes: list[Envelope] = []
        waiting = self._parked(key)
        for parked in waiting:
            outcomes.extend(self.apply(parked))
        if waiting:
            self.store.cache_set(PENDING, key, "[]", ttl_s=60)
        return outcomes


def _sanctions_touched(item: QueueItem, event: Any) -> list[tuple[str, Sanction]]:
    if not isinstance(event, AuthorSanctioned | SanctionLifted):
        return []
    target = str(event.event_id) if isinstance(event, AuthorSanctioned) else event.sanction_id
    platform = item.contribution.platform
    return [(platform, s) for s in item.sanctions if s.event_id == target]


def _last_decision(item: QueueItem) -> Decision | None:
    """The last decision recorded on the current version (a ``requeue`` included)."""
    return next((d for d in reversed(item.decisions) if d.version == item.version), None)


def _cluster_rank(cluster_id: str | None, size: int) -> tuple[int, bool, str]:
    """Order of clusters for an item: larger first, then floods before campaigns."""
    return size, not (cluster_id or "").startswith("m-"), cluster_id or ""


def _sorted_scores(scores: list[Any]) -> list[Any]:
    return sorted(scores, key=lambda s: (s.category, s.text_source))


def _sorted_translations(translations: list[Translation]) -> list[Translation]:
    return sorted(translations, key=lambda t: (t.target_language, t.field))
