"""Every event of the flow. ``type`` is the class name; see ARCHITECTURE.md for topics.

``ContributionSubmitted`` → langid → ``LanguageIdentified`` → scorer / translator →
``ContributionScored`` / ``ContributionTranslated`` → triage (with ``ModerationDecided`` and
``TranslationCorrected`` from the UI) → ``ModerationOutcome`` → delivery. Anything that fails
validation or processing becomes a ``DeadLetter``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from pipeline.schemas.contribution import Contribution, pass_sealed
from pipeline.schemas.copying import constructed
from pipeline.schemas.envelope import Envelope, Trace, Upcaster
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.statements import StatementOfReasons


class _Part(BaseModel):
    """A value inside an internal event: read tolerantly (unknown fields ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ContributionSubmitted(Envelope):
    """A platform submitted (a version of) a contribution. Input of the whole pipeline.

    ``contribution_id`` (``platform:id``, see :attr:`Contribution.key`) and
    ``contribution_version`` may be omitted by producers: they are derived from the
    contribution; if given they must agree with it.
    """

    # The input topic is an edge: any producer may write it, so unknown fields are refused.
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ContributionSubmitted"] = "ContributionSubmitted"
    contribution: Contribution

    @model_validator(mode="before")
    @classmethod
    def _fill_ids(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        if "type" not in data and (info.context or {}).get("require_type"):
            raise ValueError("type: missing event type")  # a record read off the input topic
        inner = data.get("contribution")
        if isinstance(inner, Contribution):
            inner = {"platform": inner.platform, "id": inner.id, "version": inner.version}
        if isinstance(inner, dict):
            data = dict(data)
            try:
                key = contribution_key(str(inner.get("platform")), str(inner.get("id")))
            except ValueError:
                # An unusable platform name: the contribution's own error names it; this
                # placeholder only keeps a second, misleading "field required" out.
                key = "?"
            data.setdefault("contribution_id", key)
            data.setdefault("contribution_version", inner.get("version", 1))
        return data

    @model_validator(mode="after")
    def _check_ids(self) -> ContributionSubmitted:
        if not _ids_agree(self.contribution_id, self.contribution_version, self.contribution):
            raise ValueError("contribution_id/contribution_version disagree with contribution")
        return self

    @classmethod
    def read_json(
        cls, value: bytes | str, context: dict[str, Any] | None = None
    ) -> ContributionSubmitted | None:
        """The event in ``value`` when it is in the current shape, else None.

        The common case on the input topic (what the API, ``hemicycle ingest`` and the
        platform adapters write: every envelope field given, ``schema_version`` of the current
        major in its normal form) is validated in one pass over the JSON.
        :meth:`model_validate_json` runs its version and id fill-ins on a Python copy of the
        payload, then validates that copy: ~1.3x the time on sealed dev records. What this
        path accepts, the full one accepts as the same event; anything else (None) is for the
        full validation, which says what is wrong.
        """
        try:
            parsed = _CurrentSubmitted.model_validate_json(value, context=context)
        except ValidationError:
            return None
        fields = parsed.__dict__
        if not _ids_agree(parsed.contribution_id, parsed.contribution_version, parsed.contribution):
            return None
        return constructed(cls, fields)


def _ids_agree(contribution_id: str, version: int, contribution: Contribution) -> bool:
    return (contribution_id, version) == (contribution.key, contribution.version)


class _CurrentSubmitted(BaseModel):
    """``ContributionSubmitted`` as the current version writes it: the fields of the model,
    all given, none filled in (see :meth:`ContributionSubmitted.read_json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    type: Literal["ContributionSubmitted"]
    # The current major in normal form only ("1", "01.0" or 1 are upcast to "1.0" by the
    # full validation; an older major is upcast there).
    schema_version: Annotated[
        str,
        StringConstraints(pattern=rf"^{ContributionSubmitted.SCHEMA[0]}\.(?:0|[1-9][0-9]{{0,3}})$"),
    ]
    occurred_at: AwareDatetime
    contribution_id: str = Field(min_length=1, max_length=200)
    contribution_version: int = Field(ge=1)
    trace: Trace
    contribution: Contribution


class LanguageCandidate(_Part):
    lang: str
    probability: float = Field(ge=0.0, le=1.0)


class LanguageResult(_Part):
    """What language identification concluded, and how sure it is.

    ``lang`` is ``None`` when no configured language fits: ``reason`` then says why
    (``no_letters``, ``unsupported_language:ja``, …). ``reliable`` is false for short,
    mixed or uncertain text.
    """

    lang: str | None
    confidence: float = Field(ge=0.0, le=1.0)
    reliable: bool
    candidates: list[LanguageCandidate] = Field(default_factory=list, max_length=10)
    method: str
    reason: str | None = None
    mixed: list[str] = Field(default_factory=list)


class LanguageIdentified(Envelope):
    """Language identification of a contribution (title and body). Carries the contribution."""

    type: Literal["LanguageIdentified"] = "LanguageIdentified"
    contribution: Contribution
    language: LanguageResult
    detector: str = Field(description="Models that decided, e.g. fasttext-lid.176+lingua.")

    @field_validator("contribution", mode="before")
    @classmethod
    def _tolerate(cls, value: Any) -> Any:
        """Validated at the edge already: fields a newer producer added are ignored here."""
        if isinstance(value, dict) and not value.keys() <= Contribution.model_fields.keys():
            return {k: v for k, v in value.items() if k in Contribution.model_fields}
        return value


# The toxicity categories scored (detoxify's), named here so light modules need no model code.
TOXICITY_CATEGORIES: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
)


class Score(_Part):
    category: str = Field(description="toxicity, severe_toxicity, obscene, identity_attack, …")
    value: float = Field(ge=0.0, le=1.0)
    model: str
    text_language: str | None = None
    text_source: Literal["original", "translation"] = "original"
    window_start: int | None = Field(
        None, ge=0, description="Start of the passage that scored highest (long texts only)."
    )
    window_end: int | None = Field(
        None, ge=0, description="End (exclusive) of that passage, in characters of the text."
    )


class SpamSignal(_Part):
    name: str = Field(description="links, blocked_domain, shouting, repetition, phrase, burst, …")
    value: float
    explanation: str


class ContributionScored(Envelope):
    """Toxicity scores and spam signals of one contribution version.

    ``scope`` says what the event carries: ``original`` — everything scored on the text as
    written (toxicity when the language is covered, spam signals, flood cluster);
    ``translation`` — toxicity scored on the English translation of a language the model does
    not cover; ``cluster`` — only a flood-cluster update for an earlier contribution.

    A text longer than the model's limit is scored in windows (``toxicity_windows``); each
    score's ``window_start``/``window_end`` name the passage that scored highest, and
    ``toxicity_windows_capped`` says that the window cap left the end of the text unscored.
    Minor version 1.1 added these fields.
    """

    SCHEMA: ClassVar[tuple[int, int]] = (1, 1)

    type: Literal["ContributionScored"] = "ContributionScored"
    scope: Literal["original", "translation", "cluster"] = "original"
    scores: list[Score] = Field(default_factory=list)
    toxicity_available: bool = True
    unavailable_reason: str | None = None
    spam_score: float = Field(0.0, ge=0.0, le=1.0)
    spam_signals: list[SpamSignal] = Field(default_factory=list)
    cluster_id: str | None = None
    cluster_size: int = Field(0, ge=0)
    author_prior_contributions: int | None = Field(None, ge=0)
    toxicity_windows: int = Field(0, ge=0, description="Windows the toxicity model scored.")
    toxicity_windows_capped: bool = False


class Translation(_Part):
    field: Literal["title", "body"]
    target_language: str
    text: str
    origin: Literal["machine", "human", "memory"]
    engine: str | None = None
    model_id: str | None = None
    route: list[str] = Field(
        default_factory=list, description="Languages passed, e.g. [sk, en, pt]"
    )


class UnavailableTranslation(_Part):
    target_language: str
    reason: str


class ContributionTranslated(Envelope):
    """Translations of a contribution version into the target languages."""

    type: Literal["ContributionTranslated"] = "ContributionTranslated"
    source_language: str
    translations: list[Translation] = Field(default_factory=list)
    unavailable: list[UnavailableTranslation] = Field(default_factory=list)


def _decided_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """1.x carried ``expected_revision`` (a store revision, which depended on batching); 2.0
    carries ``seen_decisions``. An old revision cannot be translated: the check is skipped."""
    data.pop("expected_revision", None)
    return data


class ModerationDecided(Envelope):
    """A moderator's decision from the UI.

    ``seen_decisions`` is how many decisions the item had when the moderator read it: a
    decision recorded since (on the decisions topic, whose order per contribution is the log's)
    makes this one a conflict, kept aside. The UI derives ``event_id`` from an idempotency key
    made once per action, so a double submit or a retried request is one decision.

    ``requeue`` (an undone first decision) gives the item back to the policy: its state is the
    one the policy gives it, as before any human decided. Minor version 2.1 added it and
    ``reverses``.
    """

    SCHEMA: ClassVar[tuple[int, int]] = (2, 1)
    UPCASTERS: ClassVar[dict[int, Upcaster]] = {1: _decided_1_to_2}

    type: Literal["ModerationDecided"] = "ModerationDecided"
    decision: Literal["approve", "reject", "escalate", "requeue"]
    moderator: str = Field(min_length=1, max_length=200)
    reason_code: str | None = Field(None, max_length=100)
    statement: str | None = Field(None, max_length=10_000)
    seen_decisions: int | None = Field(None, ge=0)
    bulk_id: str | None = None
    reverses: str | None = Field(
        None, description="event_id of the decision this one reverses (a reason is required)."
    )


class TranslationCorrected(Envelope):
    """A translator replaced a machine translation; it becomes ``human``."""

    type: Literal["TranslationCorrected"] = "TranslationCorrected"
    field: Literal["title", "body"]
    target_language: str
    text: str = Field(min_length=1, max_length=200_000)
    translator: str = Field(min_length=1, max_length=200)
    previous_text: str | None = None
    source_language: str | None = Field(None, description="Language of the original field.")
    source_text: str | None = Field(None, description="The original field, for the memory.")

    @field_validator("text", "previous_text", "source_text", mode="wrap")
    @classmethod
    def _sealed(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return pass_sealed(value, handler)


class ModerationOutcome(Envelope):
    """What happens to a contribution on its platform, decided by policy or by a human.

    Minor version 1.1 added ``statement_of_reasons``: every restrictive outcome (hidden,
    rejected) carries one (DSA Art. 17); and ``erased``: the contribution's personal data was
    erased at its author's request (the platform should erase its copy too).
    """

    SCHEMA: ClassVar[tuple[int, int]] = (1, 1)

    type: Literal["ModerationOutcome"] = "ModerationOutcome"
    platform: str
    outcome: Literal["approved", "rejected", "hidden", "needs_review", "escalated", "erased"]
    automatic: bool
    reasons: list[str] = Field(default_factory=list)
    reason_code: str | None = None
    decided_by: str | None = None
    statement_of_reasons: StatementOfReasons | None = None


class Origin(_Part):
    """Where a dead-lettered record came from."""

    topic: str
    partition: int
    offset: int
    key: str | None = None
    stage: str


class DeadLetter(Envelope):
    """A record that failed validation or processing; nothing is silently dropped.

    ``raw_payload`` is the record value as received (``payload_encoding`` says whether it is
    UTF-8 text or base64 of non-UTF-8 bytes), or only its head when the whole would make the
    dead letter too large for the bus (``payload_truncated``); ``payload_bytes`` and
    ``payload_sha256`` describe the whole value. Dead letters written before these fields
    existed carry the whole value. Contribution ids are best-effort here.
    """

    type: Literal["DeadLetter"] = "DeadLetter"
    contribution_id: str = Field("", max_length=200)
    contribution_version: int = Field(0, ge=0)
    reason: str
    error_type: Literal["invalid_event", "processing_failed", "unexpected_event"]
    origin: Origin
    attempts: int = Field(0, ge=0)
    raw_payload: str
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_bytes: int | None = Field(None, ge=0, description="Size of the whole record value.")
    payload_sha256: str | None = Field(
        None, pattern="^[0-9a-f]{64}$", description="SHA-256 (hex) of the whole record value."
    )
    payload_truncated: bool = Field(False, description="raw_payload holds the head only.")
