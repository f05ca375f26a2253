"""The statement of reasons (DSA Art. 17) kept with every restrictive outcome.

This is Hemicycle's own, neutral form: triage builds one for every restriction it records
(hidden, rejected, an author sanction — automatic or human), keeps it on the queue item and in
the outcome event, so it is rebuilt from the log like the rest. :mod:`pipeline.dsa` turns it
into the DSA Transparency Database's fields and codes (``hemicycle dsa export``).

It holds no personal data that an export would carry: ``decided_by`` (a moderator) and the
contribution's platform id stay inside Hemicycle; ``facts`` are scrubbed on export.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Restriction = Literal["hidden", "rejected", "warn", "suspend", "ban", "premoderate"]
RESTRICTIONS: tuple[str, ...] = Restriction.__args__  # type: ignore[attr-defined]
SANCTIONS: tuple[str, ...] = ("warn", "suspend", "ban", "premoderate")
Source = Literal["article_16", "trusted_flagger", "other_notification", "voluntary"]
Automation = Literal["fully", "partially", "not"]

PUID_PATTERN = r"^[A-Za-z0-9_-]{1,500}$"


def statement_puid(outcome_event_id: str | uuid.UUID) -> str:
    """The statement's platform-unique id: one per restrictive outcome event, never reused."""
    return "hc-" + uuid.UUID(str(outcome_event_id)).hex


class StatementOfReasons(BaseModel):
    """Why a contribution (or its author) was restricted, in Hemicycle's terms.

    ``category`` is a key of Hemicycle's reason taxonomy (a report reason, a rejection reason
    code, a scored category, ``flood``, ``campaign``, ``premoderation``); the table in
    ``pipeline/data/dsa_categories.toml`` maps each onto a DSA ``STATEMENT_CATEGORY_*``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    puid: str = Field(pattern=PUID_PATTERN)
    outcome_event_id: str
    contribution_id: str
    contribution_version: int = Field(ge=1)
    platform: str
    space: str
    kind: str
    restriction: Restriction
    ground: Literal["illegal", "incompatible"]
    category: str = Field(min_length=1, max_length=100)
    legal_ground: str | None = Field(None, max_length=500)
    illegal_explanation: str | None = Field(None, max_length=2000)
    incompatible_ground: str | None = Field(None, max_length=500)
    incompatible_explanation: str | None = Field(None, max_length=2000)
    facts: str = Field(min_length=1, max_length=5000)
    source: Source
    automated_detection: bool
    automated_decision: Automation
    content_language: str | None = None
    content_date: date
    application_date: date
    decided_at: AwareDatetime = Field(description="When the restriction was decided.")
    end_date: date | None = Field(None, description="End of a suspension.")
    decided_by: str | None = Field(None, description="Moderator; never exported.")
    superseded: bool = Field(False, description="A later decision or appeal lifted it.")
