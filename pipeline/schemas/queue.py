"""The queue item: the projection of every event about one contribution, kept by the store.

Only the triage worker writes queue items (the UI reads them and emits events).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pipeline.schemas.contribution import Contribution
from pipeline.schemas.events import (
    LanguageResult,
    Score,
    SpamSignal,
    Translation,
    UnavailableTranslation,
)

QueueState = Literal[
    "pending",  # known, not yet identified
    "needs_review",
    "auto_approved",
    "auto_hidden",
    "escalated",
    "approved",
    "rejected",
]
QUEUE_STATES: tuple[str, ...] = QueueState.__args__  # type: ignore[attr-defined]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: str
    by: str
    at: AwareDatetime
    reason_code: str | None = None
    statement: str | None = None
    bulk_id: str | None = None
    version: int | None = Field(None, description="The contribution version decided on.")
    event_id: str | None = Field(None, description="The ModerationDecided event recorded.")


class QueueItem(BaseModel):
    """One contribution as the moderation queue sees it (its newest known version).

    A pure function of the contribution's events: every timestamp comes from an event, and
    the result does not depend on how events of different topics interleave or are batched
    (``hemicycle rebuild`` reaches the same item). ``decisions`` keeps every decision, on any
    version, in the decisions topic's order; the state follows the last one on this version.
    """

    model_config = ConfigDict(extra="forbid")

    contribution: Contribution
    state: QueueState = "pending"
    priority: float = 0.0
    language: LanguageResult | None = None
    scores: list[Score] = Field(default_factory=list)
    spam_signals: list[SpamSignal] = Field(default_factory=list)
    cluster_id: str | None = None
    cluster_size: int = 0
    spam_score: float | None = None
    scored: bool = Field(False, description="An original-text scoring has been applied.")
    scored_at: AwareDatetime | None = Field(None, description="When that scoring was made.")
    toxicity_available: bool | None = None
    unavailable_reason: str | None = None
    author_prior_contributions: int | None = None
    translations: list[Translation] = Field(default_factory=list)
    translations_unavailable: list[UnavailableTranslation] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    conflicts: list[Decision] = Field(
        default_factory=list,
        description="Decisions refused because another one was recorded after the item was read.",
    )
    submitted_at: AwareDatetime = Field(description="When this version was identified.")
    updated_at: AwareDatetime = Field(description="Time of the latest event about it.")
    queued_at: AwareDatetime | None = Field(
        None, description="When this version reached the queue (identified and scored)."
    )
    revision: int = Field(
        0, ge=0, description="Events applied to this contribution; guards concurrent writes."
    )

    @property
    def contribution_id(self) -> str:
        return self.contribution.key

    @property
    def version(self) -> int:
        return self.contribution.version

    @property
    def language_code(self) -> str | None:
        return self.language.lang if self.language else None

    def age_key(self) -> datetime:
        return self.contribution.created_at
