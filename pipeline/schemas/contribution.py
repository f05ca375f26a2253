"""A contribution as platforms submit it: a proposal, comment or debate, in any language."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from pipeline.schemas.keys import Platform, contribution_key

# The largest version a JSON client represents exactly (an IEEE double's integers).
MAX_VERSION = 2**53 - 1
DEFAULT_MAX_BODY_CHARS = 50_000
DEFAULT_MAX_TITLE_CHARS = 1_000

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# A personal field sealed with its contribution's data key (see pipeline.privacy.sealing).
SEALED_PREFIX = "enc1."


def pass_sealed(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A sealed field is validated where it is opened: its token is taken as it is."""
    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        return value
    return handler(value)


def _limit(info: ValidationInfo, key: str, default: int) -> int:
    """Limits come from the validation context (configuration) or the documented default."""
    context = info.context or {}
    return int(context.get(key, default))


class Contribution(BaseModel):
    """One version of a user's contribution.

    ``id`` is the platform's own identifier; ``(platform, id, version)`` names one version.
    The body limit is read from the validation context key ``max_body_chars`` (the
    ``HEMICYCLE_MAX_BODY_CHARS`` setting), 50,000 characters by default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    version: int = Field(1, ge=1, le=MAX_VERSION)
    platform: Platform = Field(
        description="The platform's name: no ':', whitespace or control characters."
    )
    space: Identifier
    kind: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
    ] = Field(description="proposal, comment, debate, meeting, … (stored lower case)")
    author: Identifier = Field(description="Pseudonymous author id; never a name or e-mail.")
    title: str | None = None
    body: str
    created_at: AwareDatetime
    locale_hint: Annotated[str, StringConstraints(max_length=35)] | None = Field(
        None, description="The platform's UI locale; a tie-breaker only, never trusted."
    )
    parent_id: Identifier | None = None
    url: Annotated[str, StringConstraints(max_length=2_000)] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _no_boolean_version(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected an integer, got boolean")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        """Lone UTF-16 surrogates (``"\\ud800"`` in JSON) are not text: refused at the door."""
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "contains an unpaired UTF-16 surrogate, which is not valid Unicode"
                ) from None
        return value

    @field_validator("kind")
    @classmethod
    def _lower_kind(cls, value: str) -> str:
        return value.lower()

    @field_validator("body")
    @classmethod
    def _check_body(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("body is empty")
        limit = _limit(info, "max_body_chars", DEFAULT_MAX_BODY_CHARS)
        if len(value) > limit:
            raise ValueError(f"body has {len(value)} characters, more than the limit of {limit}")
        return value

    @field_validator("title")
    @classmethod
    def _check_title(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        limit = _limit(info, "max_title_chars", DEFAULT_MAX_TITLE_CHARS)
        if len(value) > limit:
            raise ValueError(f"title has {len(value)} characters, more than the limit of {limit}")
        return value

    @field_validator("title", "body", "author", mode="wrap")
    @classmethod
    def _sealed(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return pass_sealed(value, handler)

    @property
    def key(self) -> str:
        """Hemicycle-wide id ``platform:id``: the envelope's ``contribution_id`` and bus key."""
        return contribution_key(self.platform, self.id)

    @property
    def text(self) -> str:
        """Title and body as one text, for whole-contribution analysis."""
        return f"{self.title}\n{self.body}" if self.title else self.body
