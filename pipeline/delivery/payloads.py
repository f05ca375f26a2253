"""The JSON body POSTed for each event, one pydantic model per kind.

The body is a stable, platform-facing contract, decoupled from the internal event schemas:
``contribution.id`` is the platform's own id (without the ``platform:`` prefix Hemicycle adds),
and ``type`` says which body it is (also sent as ``X-Hemicycle-Event-Type``). ``event_id`` is
stable across retries and replays: platforms deduplicate on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from pipeline.delivery.webhooks import EventKind
from pipeline.schemas import ContributionTranslated, ModerationOutcome
from pipeline.schemas.keys import split_key
from pipeline.schemas.moderation import PartyNotified
from pipeline.schemas.statements import StatementOfReasons

OUTCOME_TYPE: Final = "moderation.outcome"
TRANSLATION_TYPE: Final = "translation.result"
NOTICE_TYPE: Final = "party.notice"
DeliverableEvent = ModerationOutcome | ContributionTranslated | PartyNotified


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContributionRef(_Body):
    id: str
    version: int


class OutcomePayload(_Body):
    """What happens to a contribution on its platform (``moderation.outcome``)."""

    type: Literal["moderation.outcome"] = OUTCOME_TYPE
    event_id: str
    platform: str
    contribution: ContributionRef
    outcome: Literal["approved", "rejected", "hidden", "needs_review", "escalated", "erased"]
    automatic: bool
    reasons: list[str]
    reason_code: str | None
    decided_by: str | None
    occurred_at: datetime
    statement_of_reasons: dict[str, Any] | None = None


class NoticePayload(_Body):
    """What the platform is asked to tell a person (``party.notice``): a reporter that their
    report was received or decided, an author of a restriction (with its statement of
    reasons), of a sanction or its lifting, an appellant of the appeal's outcome."""

    type: Literal["party.notice"] = NOTICE_TYPE
    event_id: str
    platform: str
    contribution: ContributionRef
    recipient_role: Literal["reporter", "author"]
    recipient: str
    kind: str
    outcome: str | None
    message: str
    statement_of_reasons: dict[str, Any] | None
    sanction: str | None
    until: datetime | None
    occurred_at: datetime


def statement_body(statement: StatementOfReasons | None) -> dict[str, Any] | None:
    """The statement as a platform receives it: without the moderator's name."""
    if statement is None:
        return None
    return statement.model_dump(mode="json", exclude={"decided_by", "outcome_event_id"})


class TranslatedField(_Body):
    field: Literal["title", "body"]
    target_language: str
    text: str
    origin: Literal["machine", "human", "memory"]


class UnavailableLanguage(_Body):
    target_language: str
    reason: str


class TranslationPayload(_Body):
    """Translations of one contribution version into every target language, and the target
    languages with no model, in one webhook (``translation.result``). Only a contribution whose
    translations exceed the bus's record limit arrives in several, each for some languages."""

    type: Literal["translation.result"] = TRANSLATION_TYPE
    event_id: str
    platform: str
    contribution: ContributionRef
    source_language: str
    translations: list[TranslatedField]
    unavailable: list[UnavailableLanguage]
    occurred_at: datetime


Payload = OutcomePayload | TranslationPayload | NoticePayload


def event_platform(event: DeliverableEvent) -> str:
    """The platform an event is delivered to."""
    if isinstance(event, ModerationOutcome | PartyNotified):
        return event.platform
    return split_key(event.contribution_id)[0]


def event_kind(event: DeliverableEvent) -> EventKind:
    """The ``events`` entry of the webhooks file that covers ``event``."""
    if isinstance(event, PartyNotified):
        return "notices"
    return "outcomes" if isinstance(event, ModerationOutcome) else "translations"


def platform_id(event: DeliverableEvent) -> str:
    """The platform's own contribution id: ``contribution_id`` without ``<platform>:``."""
    return split_key(event.contribution_id)[1]


def build_payload(event: DeliverableEvent) -> Payload:
    ref = ContributionRef(id=platform_id(event), version=event.contribution_version)
    if isinstance(event, ModerationOutcome):
        return OutcomePayload(
            event_id=str(event.event_id),
            platform=event.platform,
            contribution=ref,
            outcome=event.outcome,
            automatic=event.automatic,
            reasons=list(event.reasons),
            reason_code=event.reason_code,
            decided_by=event.decided_by,
            occurred_at=event.occurred_at,
            statement_of_reasons=statement_body(event.statement_of_reasons),
        )
    if isinstance(event, PartyNotified):
        return NoticePayload(
            event_id=str(event.event_id),
            platform=event.platform,
            contribution=ref,
            recipient_role=event.recipient_role,
            recipient=event.recipient,
            kind=event.kind,
            outcome=event.outcome,
            message=event.message,
            statement_of_reasons=statement_body(event.statement_of_reasons),
            sanction=event.sanction,
            until=event.until,
            occurred_at=event.occurred_at,
        )
    return TranslationPayload(
        event_id=str(event.event_id),
        platform=event_platform(event),
        contribution=ref,
        source_language=event.source_language,
        translations=[
            TranslatedField(
                field=t.field, target_language=t.target_language, text=t.text, origin=t.origin
            )
            for t in event.translations
        ],
        unavailable=[
            UnavailableLanguage(target_language=u.target_language, reason=u.reason)
            for u in event.unavailable
        ],
        occurred_at=event.occurred_at,
    )


def payload_body(payload: Payload) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return payload.model_dump_json().encode("utf-8")
