"""triage: the only writer of queue items. Applies each event idempotently, then the policy.

Rules:

* an event applied before changes nothing (the store remembers event ids);
* an event for an older contribution version than the stored one is ignored; a newer version
  replaces the content, drops the old version's scores and goes back through the policy;
* scores that arrive before their version's ``LanguageIdentified`` wait in the store's cache
  (namespace ``triage-pending``) and are applied when it lands;
* the policy decides the state of items no human has decided yet (``pending``,
  ``needs_review``, ``auto_approved``, ``auto_hidden``), with priority and reasons; it runs
  again whenever the inputs change (scores of an English translation, a flood cluster);
* a change to ``auto_approved`` or ``auto_hidden`` emits a ``ModerationOutcome`` for the
  platform; its id is derived from the event that caused it, so replays repeat the same id;
* a ``ModerationDecided`` sets the human state (approved, rejected, escalated) and emits its
  outcome, unless another decision was recorded after the revision the moderator read
  (``expected_revision``): then it is kept under ``conflicts`` and changes nothing. A
  decision about an older version than the stored one is ignored (the content changed).

Until an item is scored it stays ``pending`` (or, with ``HEMICYCLE_TRIAGE_WAIT_FOR_SCORES``
off, a deployment without a scorer, ``needs_review``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.policy import Policy, PolicyInputs, decide, load_policy
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
from pipeline.schemas.envelope import Envelope, utc_now
from pipeline.schemas.queue import Decision, QueueItem
from pipeline.store.base import QueueStore, SaveResult
from pipeline.workers.runner import Stage

log = get_logger("triage")

# States the policy may set; a human decision is only reopened by a new version.
_MACHINE_STATES = {"pending", "needs_review", "auto_approved", "auto_hidden"}
_OUTCOMES = {"auto_approved": "approved", "auto_hidden": "hidden"}
_HUMAN_STATES = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
PENDING = "triage-pending"
PENDING_TTL_S = 7 * 24 * 3600


class ConcurrentWriteError(RuntimeError):
    """The item kept changing under us; the runner retries the event."""


class TriageStage(Stage):
    name: ClassVar[str] = "triage"
    inputs: ClassVar[tuple[str, ...]] = (
        "identified",
        "scored",
        "translated",
        "corrections",
        "decisions",
    )
    accepts: ClassVar[tuple[type, ...]] = (
        LanguageIdentified,
        ContributionScored,
        ContributionTranslated,
        TranslationCorrected,
        ModerationDecided,
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

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> TriageStage:
        return cls(
            store,
            load_policy(settings.policy_file),
            wait_for_scores=settings.triage_wait_for_scores,
        )

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        """Apply a batch: each contribution's events in order, folded into one write.

        A contribution's results (identification, scores, one translation event per target
        language, …) mostly arrive together; applying them in memory and saving once (with
        every event id recorded in the same atomic write) costs one read and one write per
        contribution and batch instead of one per event.
        """
        groups: dict[str, list[Any]] = {}
        for event in events:
            groups.setdefault(event.contribution_id, []).append(event)
        outputs: list[Envelope] = []
        for group in groups.values():
            outputs.extend(self.apply(group[0]) if len(group) == 1 else self.apply_many(group))
        return outputs

    def apply(self, event: Any) -> list[Envelope]:
        """Apply one event; return the outcomes it caused (possibly none)."""
        return self.apply_many([event])

    def apply_many(self, events: Sequence[Any]) -> list[Envelope]:
        """Apply events of one contribution, in order, as one write; the outcomes they caused."""
        contribution_id = events[0].contribution_id
        for _ in range(self.max_conflicts):
            current = self.store.get(contribution_id)
            item, outcomes = current, []
            applied: list[Any] = []
            stale: list[Any] = []
            for event in events:
                if item is not None and event.contribution_version < item.version:
                    stale.append(event)
                    continue
                changed = self._transform(item, event)
                if changed is None:
                    self._park(event)  # results ahead of their contribution: apply later
                    continue
                if isinstance(event, ModerationDecided):
                    outcomes += self._human_outcome(changed, item, event)  # type: ignore[arg-type]
                else:
                    outcomes += self._decide(changed, item, event)
                item = changed
                applied.append(event)
            if applied and item is not None:
                result = self.store.save(
                    item,
                    event_id=str(applied[0].event_id),
                    expected_revision=current.revision if current is not None else 0,
                    also_applied=[str(e.event_id) for e in applied[1:]],
                )
                if result is SaveResult.CONFLICT:
                    continue
                if result is SaveResult.DUPLICATE:
                    if len(events) == 1:
                        return []
                    # Some were applied before (a replay): apply them one by one.
                    return [out for event in events for out in self.apply(event)]
            for event in stale:
                if isinstance(event, ModerationDecided):
                    log.warning(
                        "decision about an older version ignored",
                        extra={"contribution_id": contribution_id, "by": event.moderator},
                    )
                self.store.mark_applied(str(event.event_id))
            for event in applied:
                if isinstance(event, LanguageIdentified):
                    outcomes += self._unpark(event)
            return outcomes
        raise ConcurrentWriteError(f"item {contribution_id} kept changing")

    def _transform(self, current: QueueItem | None, event: Any) -> QueueItem | None:
        """The item after ``event`` (not saved); None if it is ahead of its contribution."""
        if isinstance(event, LanguageIdentified):
            return self._identified(current, event)
        if current is None or event.contribution_version > current.version:
            return None
        if isinstance(event, ContributionTranslated):
            return self._translated(current, event)
        if isinstance(event, TranslationCorrected):
            return self._corrected(current, event)
        if isinstance(event, ModerationDecided):
            return self._decided(current, event)
        return self._scored(current, event)

    @staticmethod
    def _identified(current: QueueItem | None, event: LanguageIdentified) -> QueueItem:
        now = utc_now()
        if current is None or event.contribution_version > current.version:
            return QueueItem(
                contribution=event.contribution,
                state="pending",
                language=event.language,
                submitted_at=event.occurred_at,
                updated_at=now,
                decisions=current.decisions if current is not None else [],
                revision=current.revision if current is not None else 0,
            )
        return current.model_copy(update={"language": event.language, "updated_at": now})

    @staticmethod
    def _scored(current: QueueItem, event: ContributionScored) -> QueueItem:
        update: dict[str, Any] = {"updated_at": utc_now()}
        if event.scope in ("original", "cluster"):
            update["cluster_id"] = event.cluster_id or current.cluster_id
            update["cluster_size"] = max(event.cluster_size, current.cluster_size)
        if event.scope == "original":
            kept = [s for s in current.scores if s.text_source == "translation"]
            fresh = event.scores if not kept else [s for s in event.scores if s.category == "spam"]
            update |= {
                "scores": fresh + kept,
                "spam_signals": event.spam_signals,
                "spam_score": event.spam_score,
                "scored": True,
                "toxicity_available": event.toxicity_available or bool(kept),
                "unavailable_reason": None if kept else event.unavailable_reason,
                "author_prior_contributions": event.author_prior_contributions,
            }
        elif event.scope == "translation":
            spam = [s for s in current.scores if s.category == "spam"]
            update |= {
                "scores": event.scores + spam,
                "toxicity_available": True,
                "unavailable_reason": None,
            }
        return current.model_copy(update=update)

    @staticmethod
    def _translated(current: QueueItem, event: ContributionTranslated) -> QueueItem:
        """Machine translations replace earlier ones of the same field and language, never a
        translator's (``human``) text for the same version."""
        human = {(t.field, t.target_language) for t in current.translations if t.origin == "human"}
        fresh = [t for t in event.translations if (t.field, t.target_language) not in human]
        replaced = {(t.field, t.target_language) for t in fresh}
        kept = [t for t in current.translations if (t.field, t.target_language) not in replaced]
        gone = {u.target_language for u in event.unavailable} | {t.target_language for t in fresh}
        unavailable = [u for u in current.translations_unavailable if u.target_language not in gone]
        return current.model_copy(
            update={
                "translations": sorted(kept + fresh, key=lambda t: (t.target_language, t.field)),
                "translations_unavailable": unavailable + list(event.unavailable),
                "updated_at": utc_now(),
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
        return current.model_copy(
            update={
                "translations": sorted([*kept, human], key=lambda t: (t.target_language, t.field)),
                "updated_at": utc_now(),
            }
        )

    @staticmethod
    def _decided(current: QueueItem, event: ModerationDecided) -> QueueItem:
        decision = Decision(
            decision=event.decision,
            by=event.moderator,
            at=event.occurred_at,
            reason_code=event.reason_code,
            statement=event.statement,
            revision=current.revision + 1,
            bulk_id=event.bulk_id,
        )
        seen = event.expected_revision
        if seen is not None and any((d.revision or 0) > seen for d in current.decisions):
            log.warning(
                "conflicting decision kept aside",
                extra={"contribution_id": event.contribution_id, "by": event.moderator},
            )
            return current.model_copy(update={"conflicts": [*current.conflicts, decision]})
        return current.model_copy(
            update={
                "state": _HUMAN_STATES[event.decision],
                "decisions": [*current.decisions, decision],
                "updated_at": utc_now(),
            }
        )

    def _human_outcome(
        self, item: QueueItem, before: QueueItem, event: ModerationDecided
    ) -> list[Envelope]:
        if len(item.decisions) == len(before.decisions):
            return []  # a conflict: nothing changed for the platform
        outcome = "escalated" if event.decision == "escalate" else item.state
        return [
            event.derive(
                ModerationOutcome,
                producer=self.name,
                part=f"outcome:{outcome}",
                platform=item.contribution.platform,
                outcome=outcome,
                automatic=False,
                reasons=[event.statement] if event.statement else [],
                reason_code=event.reason_code,
                decided_by=event.moderator,
            )
        ]

    def _decide(self, item: QueueItem, before: QueueItem | None, event: Any) -> list[Envelope]:
        """Set state, priority and reasons from the policy; the outcome to emit, if any."""
        if item.state not in _MACHINE_STATES:
            return []
        if not item.scored:
            item.state = "pending" if self.wait_for_scores else "needs_review"
            if item.queued_at is None and item.state != "pending":
                item.queued_at = utc_now()
            item.reasons = ["waiting for scores"] if self.wait_for_scores else []
            return []
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
        )
        decision = decide(self.policy, facts)
        item.state = decision.state  # type: ignore[assignment]
        if item.queued_at is None and item.state != "pending":
            item.queued_at = utc_now()
        item.priority = decision.priority
        item.reasons = list(decision.reasons)
        was = before.state if before is not None and before.version == item.version else None
        if item.state not in _OUTCOMES or item.state == was:
            return []
        return [
            event.derive(
                ModerationOutcome,
                producer=self.name,
                part=f"outcome:{item.state}",
                platform=item.contribution.platform,
                outcome=_OUTCOMES[item.state],
                automatic=True,
                reasons=item.reasons,
            )
        ]

    def _pending_key(self, contribution_id: str, version: int) -> str:
        return f"{contribution_id}@{version}"

    def _park(self, event: Any) -> None:
        key = self._pending_key(event.contribution_id, event.contribution_version)
        parked = json.loads(self.store.cache_get(PENDING, key) or "[]")
        raw = event.model_dump_json()
        if raw not in parked:
            parked.append(raw)
            self.store.cache_set(PENDING, key, json.dumps(parked), ttl_s=PENDING_TTL_S)

    def _unpark(self, event: LanguageIdentified) -> list[Envelope]:
        key = self._pending_key(event.contribution_id, event.contribution_version)
        parked = self.store.cache_get(PENDING, key)
        if not parked:
            return []
        outcomes: list[Envelope] = []
        for raw in json.loads(parked):
            outcomes.extend(self.apply(decode_event(raw, expected=self.accepts)))
        self.store.cache_set(PENDING, key, "[]", ttl_s=60)
        return outcomes
