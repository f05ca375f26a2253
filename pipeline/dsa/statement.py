"""A statement of reasons in the DSA Transparency Database's own field names and codes.

:class:`DsaStatement` applies the rules of the database's ``StatementStoreRequest`` (required
fields, the fields each decision ground requires, codes, lengths, date formats and bounds), so
what Hemicycle exports or submits is checked before it leaves; it refuses, besides, what the
API would silently drop (a ground's fields under the other ground, a source identity on a
voluntary decision) and an end date before the application date, which the API documents.

:func:`to_dsa` maps Hemicycle's :class:`~pipeline.schemas.statements.StatementOfReasons`:

* ``hidden`` → ``decision_visibility`` ``DECISION_VISIBILITY_CONTENT_DISABLED`` (the platform
  hides it; it can come back), ``rejected`` → ``DECISION_VISIBILITY_CONTENT_REMOVED``;
* ``suspend`` → ``decision_account`` ``DECISION_ACCOUNT_SUSPENDED`` (its end date as
  ``end_date_account_restriction``), ``ban`` → ``DECISION_ACCOUNT_TERMINATED``;
* ``premoderate`` (every later contribution hidden until confirmed) → ``decision_provision``
  ``DECISION_PROVISION_PARTIAL_SUSPENSION``;
* ``warn`` restricts nothing: ``DECISION_VISIBILITY_OTHER`` with a ``decision_visibility_other``
  saying so.

Never exported: the moderator (``decided_by``), the author, reporters and notifiers (no
``source_identity`` at all), the contribution's platform id. Every free text is scrubbed of
e-mail addresses, phone numbers and the ids and names passed as ``private``
(:mod:`pipeline.dsa.scrub`). A missing explanation is taken from the facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.dsa import codes
from pipeline.dsa.categories import CategoryTable, cached_table
from pipeline.dsa.scrub import scrub, scrub_optional
from pipeline.errors import PermanentError
from pipeline.schemas.statements import StatementOfReasons

ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
WARNING_TEXT = "Warning to the author; the content and the account are not restricted."

VISIBILITY = {
    "hidden": "DECISION_VISIBILITY_CONTENT_DISABLED",
    "rejected": "DECISION_VISIBILITY_CONTENT_REMOVED",
}
ACCOUNT = {"suspend": "DECISION_ACCOUNT_SUSPENDED", "ban": "DECISION_ACCOUNT_TERMINATED"}
PROVISION = {"premoderate": "DECISION_PROVISION_PARTIAL_SUSPENSION"}
SOURCE = {
    "article_16": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
    "other_notification": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "voluntary": "SOURCE_VOLUNTARY",
}
AUTOMATION = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}

_YMD = re.compile(r"\d{4}-\d{2}-\d{2}")
_PUID = re.compile(r"[A-Za-z0-9_-]+")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


def _coded(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise ValueError(f"not an accepted code: {', '.join(map(str, wrong))}")
        return value

    return AfterValidator(check)


def _date_between(low: str | None, high: str) -> AfterValidator:
    def check(value: str) -> str:
        if not _YMD.fullmatch(value):
            raise ValueError("does not match the format YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("is not a valid date") from exc
        if low is not None and value < low:
            raise ValueError(f"must be on or after {low}")
        if value > high:
            raise ValueError(f"must be on or before {high}")
        return value

    return AfterValidator(check)


def _filled(value: str) -> str:
    if not value.strip():
        raise ValueError("is required")
    return value


def _puid(value: str) -> str:
    if not _PUID.fullmatch(value):
        raise ValueError("may hold only letters, digits, '-' and '_'")
    return value


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError("is not a valid URL")
    return value


Text500 = Annotated[str, Field(max_length=codes.MAX_SHORT_TEXT)]
Text2000 = Annotated[str, Field(max_length=codes.MAX_EXPLANATION)]
Required500 = Annotated[str, Field(max_length=codes.MAX_SHORT_TEXT), AfterValidator(_filled)]
Required2000 = Annotated[str, Field(max_length=codes.MAX_EXPLANATION), AfterValidator(_filled)]
EndDate = Annotated[str, _date_between(None, "2038-01-01")]


class RuleError(PermanentError, ValueError):
    """Cross-field rules broken, each as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


class DsaRefused(PermanentError, ValueError):
    """A statement the Transparency Database would refuse; ``problems`` maps field → messages."""

    def __init__(self, puid: str | None, problems: dict[str, list[str]]) -> None:
        listed = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in problems.items())
        super().__init__(f"statement {puid or '(no puid)'} refused: {listed}")
        self.puid = puid
        self.problems = problems


class DsaStatement(BaseModel):
    """One statement as ``POST /api/v1/statement(s)`` takes it (``StatementStoreRequest``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_visibility: list[Annotated[str, _coded(codes.DECISION_VISIBILITIES)]] | None = None
    decision_visibility_other: Text500 | None = None
    decision_monetary: Annotated[str, _coded(codes.DECISION_MONETARIES)] | None = None
    decision_monetary_other: Text500 | None = None
    decision_provision: Annotated[str, _coded(codes.DECISION_PROVISIONS)] | None = None
    decision_account: Annotated[str, _coded(codes.DECISION_ACCOUNTS)] | None = None
    account_type: Annotated[str, _coded(codes.ACCOUNT_TYPES)] | None = None
    category_specification: list[Annotated[str, _coded(codes.KEYWORDS)]] | None = None
    category_specification_other: Text500 | None = None
    decision_ground: Annotated[str, _coded(codes.DECISION_GROUNDS)]
    decision_ground_reference_url: (
        Annotated[str, Field(max_length=codes.MAX_SHORT_TEXT), AfterValidator(_url)] | None
    ) = None
    illegal_content_legal_ground: Required500 | None = None
    illegal_content_explanation: Required2000 | None = None
    incompatible_content_ground: Required500 | None = None
    incompatible_content_explanation: Required2000 | None = None
    incompatible_content_illegal: Annotated[str, _coded(codes.YES_NO)] | None = None
    content_type: list[Annotated[str, _coded(codes.CONTENT_TYPES)]] = Field(min_length=1)
    content_type_other: Text500 | None = None
    category: Annotated[str, _coded(codes.STATEMENT_CATEGORIES)]
    category_addition: list[Annotated[str, _coded(codes.STATEMENT_CATEGORIES)]] | None = None
    territorial_scope: list[Annotated[str, _coded(codes.COUNTRIES)]] | None = None
    content_language: Annotated[str, _coded(codes.LANGUAGES)] | None = None
    content_date: Annotated[str, _date_between("2000-01-01", "2038-01-01")]
    application_date: Annotated[str, _date_between("2020-01-01", "2038-01-01")]
    end_date_account_restriction: EndDate | None = None
    end_date_monetary_restriction: EndDate | None = None
    end_date_service_restriction: EndDate | None = None
    end_date_visibility_restriction: EndDate | None = None
    decision_facts: Annotated[str, Field(max_length=codes.MAX_FACTS), AfterValidator(_filled)]
    source_type: Annotated[str, _coded(codes.SOURCE_TYPES)]
    source_identity: Text500 | None = None
    automated_detection: Annotated[str, _coded(codes.YES_NO)]
    automated_decision: Annotated[str, _coded(codes.AUTOMATED_DECISIONS)]
    puid: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_puid)]

    @model_validator(mode="after")
    def _store_request_rules(self) -> DsaStatement:
        problems: list[tuple[str, str]] = []
        restrictions = ("decision_visibility", "decision_monetary", "decision_provision")
        if not any(getattr(self, name) for name in (*restrictions, "decision_account")):
            problems.append(
                (
                    "decision_visibility",
                    "one of decision_visibility, decision_monetary, "
                    "decision_provision or decision_account is required",
                )
            )
        others = (
            (
                "decision_visibility_other",
                "DECISION_VISIBILITY_OTHER" in (self.decision_visibility or []),
            ),
            ("decision_monetary_other", self.decision_monetary == "DECISION_MONETARY_OTHER"),
            ("content_type_other", "CONTENT_TYPE_OTHER" in self.content_type),
        )
        for name, needed in others:
            problems.extend(_required_exactly_when(self, name, needed, "its code is OTHER"))
        ground_fields = {
            ILLEGAL: ("illegal_content_legal_ground", "illegal_content_explanation"),
            INCOMPATIBLE: ("incompatible_content_ground", "incompatible_content_explanation"),
        }
        for ground, names in ground_fields.items():
            for name in names:
                problems.extend(
                    _required_exactly_when(
                        self, name, self.decision_ground == ground, f"decision_ground is {ground}"
                    )
                )
        if self.incompatible_content_illegal is not None and self.decision_ground != INCOMPATIBLE:
            problems.append(("incompatible_content_illegal", f"only with {INCOMPATIBLE}"))
        if self.source_identity is not None and self.source_type == "SOURCE_VOLUNTARY":
            problems.append(("source_identity", "not with SOURCE_VOLUNTARY"))
        for name in (
            "end_date_account_restriction",
            "end_date_monetary_restriction",
            "end_date_service_restriction",
            "end_date_visibility_restriction",
        ):
            end = getattr(self, name)
            if end is not None and end < self.application_date:
                problems.append((name, "must be on or after application_date"))
        if problems:
            raise RuleError(problems)
        return self


def _required_exactly_when(
    statement: DsaStatement, name: str, needed: bool, when: str
) -> list[tuple[str, str]]:
    present = getattr(statement, name) is not None
    if needed and not present:
        return [(name, f"is required when {when}")]
    if present and not needed:
        return [(name, f"is only accepted when {when}")]
    return []


def validate_dsa(data: dict[str, Any]) -> DsaStatement:
    """``data`` as a :class:`DsaStatement`, or :class:`DsaRefused` naming each field wrong."""
    try:
        return DsaStatement.model_validate(data)
    except ValidationError as exc:
        problems: dict[str, list[str]] = {}
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, RuleError):
                for field, message in cause.problems:
                    problems.setdefault(field, []).append(message)
                continue
            field = str(error["loc"][0]) if error["loc"] else "statement"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.setdefault(field, []).append(message)
        puid = data.get("puid") if isinstance(data.get("puid"), str) else None
        raise DsaRefused(puid, problems) from exc


def _clip(text: str | None, limit: int, private: Sequence[str]) -> str | None:
    if text is None:
        return None
    cleaned = scrub(text, private).strip()
    return cleaned[:limit].rstrip() or None


def to_dsa(
    statement: StatementOfReasons,
    *,
    table: CategoryTable | None = None,
    territorial_scope: Sequence[str] = codes.EEA_COUNTRIES,
    private: Sequence[str] = (),
) -> dict[str, Any]:
    """The API's JSON object for ``statement``; raises :class:`DsaRefused` if it breaks a rule.

    ``private``: ids and names of the people concerned, removed from every free text (the
    statement's ``decided_by`` is always among them).
    """
    row = (table or cached_table()).lookup(statement.category)
    private = [*private, *([statement.decided_by] if statement.decided_by else [])]
    facts = _clip(statement.facts, codes.MAX_FACTS, private) or ""
    end = statement.end_date.isoformat() if statement.end_date else None
    restriction = statement.restriction
    data: dict[str, Any] = {
        "decision_visibility": [VISIBILITY[restriction]] if restriction in VISIBILITY else None,
        "decision_provision": PROVISION.get(restriction),
        "decision_account": ACCOUNT.get(restriction),
        "end_date_visibility_restriction": end if restriction in VISIBILITY else None,
        "end_date_account_restriction": end if restriction == "suspend" else None,
        "end_date_service_restriction": end if restriction in PROVISION else None,
    }
    if restriction == "warn":
        data["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
        data["decision_visibility_other"] = WARNING_TEXT
    if statement.ground == "illegal":
        data["decision_ground"] = ILLEGAL
        data["illegal_content_legal_ground"] = _clip(
            statement.legal_ground, codes.MAX_SHORT_TEXT, private
        )
        data["illegal_content_explanation"] = _clip(
            statement.illegal_explanation or statement.facts, codes.MAX_EXPLANATION, private
        )
    else:
        data["decision_ground"] = INCOMPATIBLE
        data["incompatible_content_ground"] = _clip(
            statement.incompatible_ground, codes.MAX_SHORT_TEXT, private
        )
        data["incompatible_content_explanation"] = _clip(
            statement.incompatible_explanation or statement.facts, codes.MAX_EXPLANATION, private
        )
        data["incompatible_content_illegal"] = "Yes" if row.ground == "illegal" else "No"
    language = (statement.content_language or "").upper()
    data |= {
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": row.category,
        "category_specification": list(row.specification) or None,
        "category_specification_other": scrub_optional(row.specification_other),
        "territorial_scope": sorted(set(territorial_scope)) or None,
        "content_language": language if language in codes.LANGUAGES else None,
        "content_date": statement.content_date.isoformat(),
        "application_date": statement.application_date.isoformat(),
        "decision_facts": facts,
        "source_type": SOURCE[statement.source],
        "automated_detection": "Yes" if statement.automated_detection else "No",
        "automated_decision": AUTOMATION[statement.automated_decision],
        "puid": statement.puid,
    }
    checked = validate_dsa({key: value for key, value in data.items() if value is not None})
    return checked.model_dump(exclude_none=True)
