"""triage: the only writer of queue items. Applies each event idempotently.

Rules: an event applied before changes nothing (the store remembers event ids); an event for
an older contribution version than the stored one is ignored; a newer version replaces the
content and goes back to review. With language identification alone, items land in
``needs_review`` with their language; scores, translations and policy join in later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.schemas import LanguageIdentified
from pipeline.schemas.envelope import Envelope, utc_now
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueStore, SaveResult
from pipeline.workers.runner import Stage

log = get_logger("triage")

# States a machine may move; a human decision is only reopened by a new version.
_OPEN_STATES = {"pending", "needs_review"}


class ConcurrentWriteError(RuntimeError):
    """The item kept changing under us; the runner retries the event."""


class TriageStage(Stage):
    name: ClassVar[str] = "triage"
    inputs: ClassVar[tuple[str, ...]] = ("identified",)
    accepts: ClassVar[tuple[type, ...]] = (LanguageIdentified,)

    def __init__(self, store: QueueStore, *, max_conflicts: int = 5) -> None:
        self.store = store
        self.max_conflicts = max_conflicts

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> TriageStage:
        return cls(store)

    def process(self, events: Sequence[LanguageIdentified]) -> list[Envelope]:
        for event in events:
            self.apply(event)
        return []

    def apply(self, event: LanguageIdentified) -> SaveResult:
        for _ in range(self.max_conflicts):
            current = self.store.get(event.contribution_id)
            if current is not None and event.contribution_version < current.version:
                self.store.mark_applied(str(event.event_id))
                log.debug("stale version ignored", extra={"contribution_id": event.contribution_id})
                return SaveResult.DUPLICATE
            item = self._merge(current, event)
            expected = current.revision if current is not None else 0
            result = self.store.save(item, event_id=str(event.event_id), expected_revision=expected)
            if result is not SaveResult.CONFLICT:
                return result
        raise ConcurrentWriteError(f"item {event.contribution_id} kept changing")

    @staticmethod
    def _merge(current: QueueItem | None, event: LanguageIdentified) -> QueueItem:
        now = utc_now()
        if current is None or event.contribution_version > current.version:
            return QueueItem(
                contribution=event.contribution,
                state="needs_review",
                language=event.language,
                submitted_at=event.occurred_at,
                updated_at=now,
                decisions=current.decisions if current is not None else [],
                revision=current.revision if current is not None else 0,
            )
        state = "needs_review" if current.state in _OPEN_STATES else current.state
        return current.model_copy(
            update={"language": event.language, "state": state, "updated_at": now}
        )
