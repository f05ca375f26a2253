"""What a platform reads back: the status of one of its contributions, found by id or key."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from pipeline.api.models import ApiError
from pipeline.api.submission import read_item, stored_under_own_key
from pipeline.schemas import Contribution
from pipeline.schemas.events import (
    LanguageResult,
    Score,
    SpamSignal,
    Translation,
    UnavailableTranslation,
)
from pipeline.schemas.keys import contribution_key, own_id
from pipeline.schemas.queue import QueueItem, QueueState
from pipeline.store.base import QueueStore


class PlatformDecision(BaseModel):
    """A moderator's decision, as the platform sees it (moderator identities stay internal)."""

    decision: str
    at: AwareDatetime
    reason_code: str | None = None
    statement: str | None = None


class ContributionStatus(BaseModel):
    """What Hemicycle knows about a contribution (its newest processed version)."""

    contribution_id: str
    version: int = Field(description="The newest version processed so far.")
    state: QueueState
    priority: float
    language: LanguageResult | None = Field(description="Detected from the text.")
    translations: list[Translation]
    translations_unavailable: list[UnavailableTranslation]
    scores: list[Score]
    spam_score: float | None
    spam_signals: list[SpamSignal]
    cluster_id: str | None
    cluster_size: int
    toxicity_available: bool | None
    unavailable_reason: str | None
    reasons: list[str] = Field(description="Why the policy chose the state.")
    decisions: list[PlatformDecision]
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    contribution: Contribution


def contribution_status(item: QueueItem) -> ContributionStatus:
    return ContributionStatus(
        contribution_id=item.contribution_id,
        version=item.version,
        state=item.state,
        priority=item.priority,
        language=item.language,
        translations=item.translations,
        translations_unavailable=item.translations_unavailable,
        scores=item.scores,
        spam_score=item.spam_score,
        spam_signals=item.spam_signals,
        cluster_id=item.cluster_id,
        cluster_size=item.cluster_size,
        toxicity_available=item.toxicity_available,
        unavailable_reason=item.unavailable_reason,
        reasons=item.reasons,
        decisions=[
            PlatformDecision(
                decision=d.decision, at=d.at, reason_code=d.reason_code, statement=d.statement
            )
            for d in item.decisions
        ],
        submitted_at=item.submitted_at,
        updated_at=item.updated_at,
        contribution=item.contribution,
    )


def find_item(store: QueueStore, platform: str, given: str) -> QueueItem | None:
    """The platform's item named ``id`` or ``platform:id`` (never another platform's).

    The stored item's own ``contribution.platform`` and ``id`` are compared, not a key prefix.
    """
    ids = [given]
    own = own_id(platform, given)
    if own is not None:
        ids.insert(0, own)
    for contribution_id in ids:
        key = contribution_key(platform, contribution_id)
        item = read_item(store, key) if len(key) <= 200 else None
        if item is not None and stored_under_own_key(item, key):
            return item
    return None


def not_found(platform: str, given: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no contribution {given[:200]!r} of platform {platform!r} is known yet: if it was "
        "just submitted it may still be in flight through the pipeline; retry in a few seconds",
    )
