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
from pipeline.schemas.moderation import IllegalNotice
from pipeline.schemas.statements import StatementOfReasons

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
    reverses: str | None = Field(None, description="event_id of the decision reversed.")
    appeal_id: str | None = Field(None, description="The appeal whose reversal this is.")


class AutomaticOutcome(BaseModel):
    """An outcome the policy reached on its own (kept for the accuracy figures of Art. 15)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    outcome: str
    version: int
    at: AwareDatetime
    rule: str = Field(description="What decided: a category, flood, campaign, reports, …")


class Report(BaseModel):
    """A person's report, as folded into the item (the notifier's contact stays in the log)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    reporter: str
    reason: str
    reason_source: str | None = None
    details: str | None = None
    at: AwareDatetime
    version: int
    notice: IllegalNotice | None = None


class Appeal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    appellant: str
    appellant_role: str
    statement: str
    at: AwareDatetime
    against: str | None = Field(None, description="event_id of the decision appealed.")
    against_by: str | None = Field(None, description="Who made it (None: automatic).")
    result: Literal["upheld", "reversed"] | None = None
    decided_by: str | None = None
    decided_at: AwareDatetime | None = None
    reply: str | None = None


class Sanction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    author: str
    action: str
    until: AwareDatetime | None = None
    by: str
    at: AwareDatetime
    reason_code: str | None = None
    statement: str
    lifted_at: AwareDatetime | None = None
    lifted_by: str | None = None
    lifted_reason: str | None = None


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
    author_restricted: str | None = Field(
        None, description="The author's sanction that pre-moderates this version, in words."
    )
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
    erased_at: AwareDatetime | None = Field(
        None, description="When its personal data was erased (texts and author read [erased])."
    )
    reports: list[Report] = Field(default_factory=list)
    appeals: list[Appeal] = Field(default_factory=list)
    sanctions: list[Sanction] = Field(
        default_factory=list, description="Sanctions on the author imposed for this item."
    )
    automatic: list[AutomaticOutcome] = Field(
        default_factory=list, description="Outcomes the policy reached on its own."
    )
    statements: list[StatementOfReasons] = Field(
        default_factory=list, description="Statements of reasons of its restrictions (Art. 17)."
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

    def open_reports(self) -> list[Report]:
        """Reports no human has answered: made after the last human decision on any version
        (a ``requeue`` answers nobody)."""
        answers = [d for d in self.decisions if d.decision != "requeue"]
        last = answers[-1].at if answers else None
        return [r for r in self.reports if last is None or r.at > last]

    def reporters(self) -> int:
        """Distinct people who reported it (a reporter reporting twice counts once)."""
        return len({r.reporter for r in self.reports})

    def open_appeals(self) -> list[Appeal]:
        return [a for a in self.appeals if a.result is None]
