"""Moderation of record: people's reports, appeals, author sanctions and answers to people.

``ContributionReported`` (topic ``moderation.reports``) is a notice from a person on the
platform; ``AppealFiled``/``AppealDecided`` and ``AuthorSanctioned``/``SanctionLifted`` ride on
``moderation.decisions`` with the contribution's decisions (one partition, one order). Triage
folds them all into the queue item; ``PartyNotified`` (topic ``moderation.notices``) is what
the platform is asked to tell a reporter or an author, delivered like an outcome.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from pipeline.schemas.contribution import pass_sealed
from pipeline.schemas.envelope import DERIVED_NAMESPACE, Envelope
from pipeline.schemas.events import _Part
from pipeline.schemas.statements import StatementOfReasons

ReportReason = Literal["spam", "offensive", "does_not_belong", "illegal"]
REPORT_REASONS: tuple[str, ...] = ReportReason.__args__  # type: ignore[attr-defined]
SanctionAction = Literal["warn", "suspend", "ban", "premoderate"]
SANCTION_ACTIONS: tuple[str, ...] = SanctionAction.__args__  # type: ignore[attr-defined]


class IllegalNotice(_Part):
    """The Art. 16(2) elements of a notice of illegal content.

    ``notifier_name``/``notifier_email`` are the notifier's contact: kept for answering them,
    left out of every export and every list a moderator sees.
    """

    legal_ground: str = Field(min_length=1, max_length=500)
    explanation: str = Field(min_length=1, max_length=5000)
    notifier_name: str | None = Field(None, max_length=200)
    notifier_email: str | None = Field(None, max_length=320)
    bona_fide: bool = Field(description="The notifier's statement of good faith.")
    trusted_flagger: bool = False

    @model_validator(mode="after")
    def _good_faith(self) -> IllegalNotice:
        if not self.bona_fide:
            raise ValueError("bona_fide: an illegal-content notice needs the good-faith statement")
        return self


def report_event_id(contribution_id: str, reporter: str, reason: str, ref: str = "") -> uuid.UUID:
    """One report's id: the same request, retried or replayed, is one report."""
    return uuid.uuid5(DERIVED_NAMESPACE, f"report/{contribution_id}/{reporter}/{reason}/{ref}")


class ContributionReported(Envelope):
    """A person reported a contribution. ``contribution_version`` is the version they saw
    (1 when the contribution was not known yet: the report then waits for it)."""

    type: Literal["ContributionReported"] = "ContributionReported"
    platform: str = Field(min_length=1, max_length=100)
    reporter: str = Field(min_length=1, max_length=200, description="Pseudonymous reporter id.")
    reason: ReportReason
    reason_source: str | None = Field(
        None, max_length=100, description="The platform's own reason code, as received."
    )
    details: str | None = Field(None, max_length=5000)
    notice: IllegalNotice | None = None

    @field_validator("details", mode="wrap")
    @classmethod
    def _sealed(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return pass_sealed(value, handler)

    @model_validator(mode="after")
    def _illegal_needs_notice(self) -> ContributionReported:
        if self.reason == "illegal" and self.notice is None:
            raise ValueError("notice: a report for illegal content needs the Art. 16 fields")
        return self


class AppealFiled(Envelope):
    """An internal complaint (Art. 20) against a decision, filed by the platform for a person."""

    type: Literal["AppealFiled"] = "AppealFiled"
    platform: str = Field(min_length=1, max_length=100)
    appellant: str = Field(min_length=1, max_length=200)
    appellant_role: Literal["author", "reporter"] = "author"
    statement: str = Field(min_length=1, max_length=5000)
    appeal_ref: str | None = Field(None, max_length=200, description="The platform's appeal id.")

    @field_validator("appellant", "statement", mode="wrap")
    @classmethod
    def _sealed(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return pass_sealed(value, handler)


class AppealDecided(Envelope):
    """A moderator (not the one who decided) upheld or reversed an appealed decision."""

    type: Literal["AppealDecided"] = "AppealDecided"
    appeal_id: str = Field(description="event_id of the AppealFiled decided.")
    result: Literal["upheld", "reversed"]
    moderator: str = Field(min_length=1, max_length=200)
    reply: str = Field(min_length=1, max_length=5000, description="The reasoned reply.")


class AuthorSanctioned(Envelope):
    """A sanction on an author, imposed for the contribution this event is about."""

    type: Literal["AuthorSanctioned"] = "AuthorSanctioned"
    platform: str = Field(min_length=1, max_length=100)
    author: str = Field(min_length=1, max_length=200)
    action: SanctionAction
    until: AwareDatetime | None = Field(None, description="End of a suspension.")
    moderator: str = Field(min_length=1, max_length=200)
    reason_code: str | None = Field(None, max_length=100)
    statement: str = Field(min_length=1, max_length=5000)

    @field_validator("author", mode="wrap")
    @classmethod
    def _sealed(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return pass_sealed(value, handler)

    @model_validator(mode="after")
    def _suspension_ends(self) -> AuthorSanctioned:
        if self.action == "suspend" and self.until is None:
            raise ValueError("until: a suspension needs an end date")
        if self.until is not None and self.until <= self.occurred_at:
            raise ValueError("until: the end of a suspension must be after it starts")
        return self


class SanctionLifted(Envelope):
    """A sanction lifted early (``sanction_id`` is the AuthorSanctioned event id)."""

    type: Literal["SanctionLifted"] = "SanctionLifted"
    sanction_id: str
    moderator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=5000)


class ErasureRequested(Envelope):
    """The personal data of this contribution was erased (GDPR Art. 17): its author's request
    (``scope`` ``author``: every contribution of theirs gets one) or one contribution's.

    By the time this event is published the contribution's data key is a tombstone, so every
    sealed field of its events opens as ``[erased]``; triage erases what the queue item holds
    and tells the platform (outcome ``erased``). The moderation record stays.
    """

    type: Literal["ErasureRequested"] = "ErasureRequested"
    platform: str = Field(min_length=1, max_length=100)
    scope: Literal["author", "contribution"]
    requested_by: str = Field(min_length=1, max_length=200, description="Who asked: api, cli:…")


def erasure_event_id(contribution_id: str, scope: str) -> uuid.UUID:
    """One erasure per contribution and scope: a repeated request is the same event."""
    return uuid.uuid5(DERIVED_NAMESPACE, f"erasure/{contribution_id}/{scope}")


NoticeKind = Literal[
    "report_received",
    "report_decided",
    "restriction",
    "appeal_decided",
    "sanction",
    "sanction_lifted",
]


class PartyNotified(Envelope):
    """What the platform is asked to tell a reporter or an author (delivered by webhook).

    ``recipient`` is the pseudonymous id the platform gave us; ``statement_of_reasons`` comes
    with every restriction (Art. 17).
    """

    type: Literal["PartyNotified"] = "PartyNotified"
    platform: str
    recipient_role: Literal["reporter", "author"]
    recipient: str
    kind: NoticeKind
    outcome: str | None = Field(None, description="approved, rejected, hidden, upheld, …")
    message: str
    statement_of_reasons: StatementOfReasons | None = None
    sanction: SanctionAction | None = None
    until: AwareDatetime | None = None
