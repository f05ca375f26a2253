"""``POST /v1/coral/flags``: Coral flags and DSA reports of a comment, as notices.

Coral (talk 6 to 9) records a person's flag as a comment action (``actionType: FLAG``) with a
``reason`` (``GQLCOMMENT_FLAG_REPORTED_REASON``: ``COMMENT_REPORTED_SPAM``, ``_OFFENSIVE``,
``_ABUSIVE``, ``_BIO``, ``_OTHER``), ``additionalDetails`` and the flagger's ``userID``; a
notice of illegal content is a ``DSAReport`` (``lawBrokenDescription``,
``additionalInformation``, ``referenceID``). Relayed here (a Coral webhook or plugin), signed
like the moderation phase (``X-Coral-Signature``, ``HEMICYCLE_CORAL_SECRET``)::

    {"tenantID": "t1", "story": {"id": "s-1"}, "author": {"id": "u-1"},
     "comment": {"body": "…", "parentID": null},
     "flags": [{"id": "a-9", "reason": "COMMENT_REPORTED_SPAM", "userID": "u-7",
                "additionalDetails": "…"}],
     "dsaReports": [{"referenceID": "r-3", "userID": "u-8", "lawBrokenDescription": "…",
                     "additionalInformation": "…", "bonaFide": true}]}

Coral sends no comment id Hemicycle knows, so the comment is named as the moderation phase
names it (:func:`.coral.comment_id`: story, author, parent and text) under platform
``coral-<tenantID>``. Flags Coral raised itself (``COMMENT_DETECTED_*``, no ``userID``) are
reported by ``coral-system``. The rest is ``POST /v1/reports``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from pipeline.api.context import AppContext
from pipeline.api.coral import (
    MIN_SECRET_CHARS,
    CoralAuthor,
    CoralComment,
    CoralStory,
    comment_id,
    verify_signature,
)
from pipeline.api.html import html_to_text
from pipeline.api.models import (
    ApiError,
    ApiRoute,
    check_content_type,
    error_responses,
    inline_schema,
    json_body,
    parse_request,
    read_body,
)
from pipeline.api.reports import ReportsAccepted, parse_reports, publish_reports
from pipeline.config import Settings
from pipeline.schemas.keys import check_platform_name

SYSTEM_REPORTER = "coral-system"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CoralFlag(_Lenient):
    """A FLAG comment action."""

    id: str | None = Field(None, max_length=200, description="The action's id.")
    reason: str = Field(max_length=100)
    additionalDetails: str | None = Field(None, max_length=5000)
    userID: str | None = Field(None, max_length=200, description="The flagger; none: Coral.")
    createdAt: AwareDatetime | None = None


class CoralDSAReport(_Lenient):
    """A Coral DSA report (notice of illegal content)."""

    id: str | None = Field(None, max_length=200)
    referenceID: str | None = Field(None, max_length=200)
    userID: str = Field(min_length=1, max_length=200)
    lawBrokenDescription: str = Field(max_length=500)
    additionalInformation: str = Field(max_length=5000)
    additionalComments: str | None = Field(None, max_length=5000)
    bonaFide: bool = Field(description="The reporter's good-faith statement (Art. 16(2)(d)).")
    createdAt: AwareDatetime | None = None


class CoralFlags(_Lenient):
    tenantID: str = Field(min_length=1, max_length=150)
    story: CoralStory
    author: CoralAuthor
    comment: CoralComment
    flags: list[CoralFlag] = Field(default_factory=list, max_length=500)
    dsaReports: list[CoralDSAReport] = Field(default_factory=list, max_length=500)

    @field_validator("tenantID")
    @classmethod
    def _tenant_names_a_platform(cls, value: str) -> str:
        return check_platform_name(value)

    @property
    def platform(self) -> str:
        return f"coral-{self.tenantID}"

    def report_data(self) -> list[dict[str, Any]]:
        """The flags and DSA reports in ``POST /v1/reports``'s shape."""
        text = html_to_text(self.comment.body)
        cid = comment_id(self.story.id, self.author.id, self.comment.parentID, text)
        out: list[dict[str, Any]] = []
        for flag in self.flags:
            out.append(
                {
                    "id": cid,
                    "reporter": flag.userID or SYSTEM_REPORTER,
                    "reason": flag.reason,
                    "details": flag.additionalDetails,
                    "report_ref": f"coral-flag-{flag.id}" if flag.id else None,
                    "reported_at": flag.createdAt,
                }
            )
        for report in self.dsaReports:
            ref = report.referenceID or report.id
            out.append(
                {
                    "id": cid,
                    "reporter": report.userID,
                    "reason": "illegal",
                    "details": report.additionalComments,
                    "notice": {
                        "legal_ground": report.lawBrokenDescription,
                        "explanation": report.additionalInformation,
                        "bona_fide": report.bonaFide,
                    },
                    "report_ref": f"coral-dsa-{ref}" if ref else None,
                    "reported_at": report.createdAt,
                }
            )
        return out


def check_signature(settings: Settings, raw: bytes, header: str | None) -> None:
    """401/503 unless ``raw`` is signed with ``HEMICYCLE_CORAL_SECRET``."""
    secret = settings.coral_secret.get_secret_value() if settings.coral_secret else ""
    if not secret or "REPLACE_ME" in secret or len(secret) < MIN_SECRET_CHARS:
        raise ApiError(
            503,
            "coral_disabled",
            "Coral is not configured: set HEMICYCLE_CORAL_SECRET to the signing secret "
            f"(at least {MIN_SECRET_CHARS} characters)",
        )
    if not header:
        raise ApiError(401, "unauthorized", "missing X-Coral-Signature header")
    if not verify_signature(secret, raw, header):
        raise ApiError(
            401,
            "unauthorized",
            "X-Coral-Signature does not match the body signed with HEMICYCLE_CORAL_SECRET",
        )


def router(context: AppContext) -> APIRouter:
    settings = context.settings
    api = APIRouter(prefix="/v1/coral", tags=["coral"], route_class=ApiRoute)

    def accept(flags: CoralFlags) -> ReportsAccepted:
        data = flags.report_data()
        if not data:
            raise ApiError(422, "invalid_report", "flags: send at least one flag or DSA report")
        reports = parse_reports(data, flags.platform, what="flag")
        return publish_reports(context, flags.platform, reports, producer="coral")

    @api.post(
        "/flags",
        status_code=202,
        response_model=ReportsAccepted,
        summary="Coral flags and DSA reports of a comment",
        description=(
            "Signed with `X-Coral-Signature` (HEMICYCLE_CORAL_SECRET). The comment is named as "
            "the moderation phase names it; answered like `POST /v1/reports`."
        ),
        responses=error_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=json_body(inline_schema(CoralFlags), "A comment's flags."),
    )
    async def flags(request: Request) -> ReportsAccepted:
        check_content_type(request)
        raw = await read_body(request, settings.max_event_bytes)
        check_signature(settings, raw, request.headers.get("x-coral-signature"))
        parsed = parse_request(raw, CoralFlags)
        return await run_in_threadpool(accept, parsed)

    return api
