"""Decoding raw bus records into events, with error messages that name the field."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, overload

from pydantic import Field, TypeAdapter, ValidationError

from pipeline.errors import PermanentError
from pipeline.schemas.envelope import Envelope
from pipeline.schemas.events import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    DeadLetter,
    LanguageIdentified,
    ModerationDecided,
    ModerationOutcome,
    TranslationCorrected,
)
from pipeline.schemas.moderation import (
    AppealDecided,
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    ErasureRequested,
    PartyNotified,
    SanctionLifted,
)

# Every event the system writes: what :func:`decode_event` returns without ``expected``.
Event = (
    ContributionSubmitted
    | LanguageIdentified
    | ContributionScored
    | ContributionTranslated
    | ModerationDecided
    | TranslationCorrected
    | ModerationOutcome
    | DeadLetter
    | ContributionReported
    | AppealFiled
    | AppealDecided
    | AuthorSanctioned
    | SanctionLifted
    | PartyNotified
    | ErasureRequested
)

AnyEvent = Annotated[Event, Field(discriminator="type")]

EVENT_TYPES: dict[str, type[Envelope]] = {
    cls.__name__: cls
    for cls in (
        ContributionSubmitted,
        LanguageIdentified,
        ContributionScored,
        ContributionTranslated,
        ModerationDecided,
        TranslationCorrected,
        ModerationOutcome,
        DeadLetter,
        ContributionReported,
        AppealFiled,
        AppealDecided,
        AuthorSanctioned,
        SanctionLifted,
        PartyNotified,
        ErasureRequested,
    )
}

_ADAPTER: TypeAdapter[Event] = TypeAdapter(AnyEvent)

E = TypeVar("E", bound=Envelope)
E2 = TypeVar("E2", bound=Envelope)


class EventDecodeError(PermanentError, ValueError):
    """A record that is not a valid event. ``reason`` is meant for humans and dead letters."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_validation_error(exc: ValidationError, *, limit: int = 5) -> str:
    """``contribution.body: body is empty; type: …`` — each error prefixed by its field path."""
    parts: list[str] = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "json_invalid":
            parts.append(f"payload is not valid JSON: {err.get('ctx', {}).get('error', msg)}")
        elif err["type"] == "union_tag_invalid":
            parts.append(
                f"type: unknown event type {err['input'].get('type')!r}"
                if isinstance(err["input"], dict)
                else f"type: {msg}"
            )
        elif err["type"] == "union_tag_not_found":
            parts.append("type: missing event type")
        elif err["type"] == "model_attributes_type" and not loc:
            parts.append("payload: expected a JSON object")
        elif not loc and msg.startswith("schema_version"):
            parts.append(msg)
        else:
            parts.append(f"{loc or 'payload'}: {msg}")
    extra = len(exc.errors()) - limit
    if extra > 0:
        parts.append(f"(+{extra} more)")
    return "; ".join(parts)


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part in EVENT_TYPES


@overload
def decode_event(
    value: bytes | str,
    *,
    expected: None = None,
    context: dict[str, Any] | None = None,
    max_bytes: int | None = None,
) -> Event: ...


@overload
def decode_event(
    value: bytes | str,
    *,
    expected: tuple[type[E]],
    context: dict[str, Any] | None = None,
    max_bytes: int | None = None,
) -> E: ...


@overload
def decode_event(
    value: bytes | str,
    *,
    expected: tuple[type[E], type[E2]],
    context: dict[str, Any] | None = None,
    max_bytes: int | None = None,
) -> E | E2: ...


@overload
def decode_event(
    value: bytes | str,
    *,
    expected: tuple[type[E], ...],
    context: dict[str, Any] | None = None,
    max_bytes: int | None = None,
) -> E: ...


def decode_event(
    value: bytes | str,
    *,
    expected: tuple[type[Envelope], ...] | None = None,
    context: dict[str, Any] | None = None,
    max_bytes: int | None = None,
) -> Envelope:
    """Parse one record value into an event, or raise :class:`EventDecodeError`.

    ``expected`` restricts the accepted event classes (a langid worker accepts only
    ``ContributionSubmitted``) and narrows the type returned; ``context`` carries limits such
    as ``max_body_chars``.
    """
    if max_bytes is not None and len(value) > max_bytes:
        raise EventDecodeError(f"payload of {len(value)} bytes exceeds the limit of {max_bytes}")
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventDecodeError(
                f"payload is not UTF-8 text: {exc.reason} at {exc.start}"
            ) from None
    try:
        event = _ADAPTER.validate_json(value, context=context)
    except ValidationError as exc:
        raise EventDecodeError(describe_validation_error(exc)) from None
    if expected is not None and not isinstance(event, expected):
        names = ", ".join(cls.__name__ for cls in expected)
        raise EventDecodeError(f"type: {event.type} is not accepted here (expected {names})")
    return event
