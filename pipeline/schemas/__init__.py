"""Event vocabulary of Hemicycle: pydantic v2 models, one JSON envelope for all."""

from pipeline.schemas.codec import (
    EVENT_TYPES,
    AnyEvent,
    Event,
    EventDecodeError,
    decode_event,
)
from pipeline.schemas.contribution import Contribution
from pipeline.schemas.envelope import SCHEMA_VERSION, Envelope, Trace
from pipeline.schemas.events import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    DeadLetter,
    LanguageCandidate,
    LanguageIdentified,
    LanguageResult,
    ModerationDecided,
    ModerationOutcome,
    Origin,
    Score,
    SpamSignal,
    Translation,
    TranslationCorrected,
    UnavailableTranslation,
)

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "AnyEvent",
    "Contribution",
    "ContributionScored",
    "ContributionSubmitted",
    "ContributionTranslated",
    "DeadLetter",
    "Envelope",
    "Event",
    "EventDecodeError",
    "LanguageCandidate",
    "LanguageIdentified",
    "LanguageResult",
    "ModerationDecided",
    "ModerationOutcome",
    "Origin",
    "Score",
    "SpamSignal",
    "Trace",
    "Translation",
    "TranslationCorrected",
    "UnavailableTranslation",
    "decode_event",
]
