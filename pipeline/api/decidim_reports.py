"""``POST /v1/decidim/reports``: Decidim's reports (``Decidim::Report``) as notices.

A Decidim report belongs to a ``Decidim::Moderation`` of a reportable (polymorphic
``decidim_reportable_type`` / ``decidim_reportable_id``) and has ``reason``
(``Decidim::Report::REASONS``), ``details``, ``locale`` and the reporting ``user``. The adapter
takes it as JSON, in either form::

    {"id": 31, "reason": "offensive", "details": "…", "locale": "en",
     "created_at": "2026-11-20T10:00:00Z", "user": {"id": 5},
     "reportable": {"type": "Decidim::Comments::Comment", "id": 44}}

or with ``"moderation": {"decidim_reportable_type": …, "decidim_reportable_id": …}`` in place
of ``reportable`` (the columns as Decidim stores them). The contribution is
``<resource_type>-<id>`` as in :mod:`.decidim` (``comment-44``), the report's ``id`` makes it
one report however often it is resent, and the user id is the pseudonymous reporter. The
rest is ``POST /v1/reports`` (key, platform, waiting, answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.decidim import DecidimId, DecidimType, Locale, decidim_contribution_id
from pipeline.api.models import (
    error_responses,
    inline_schema,
    json_body,
    keyed_body,
    one_or_many,
    parse_json,
    refuse_batch,
)
from pipeline.api.reports import ReportsAccepted, parse_reports, publish_reports
from pipeline.api.submission import batch_items, validate_objects


class DecidimUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: DecidimId = Field(description="The reporting user's id (pseudonymous).")


class DecidimReportable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: DecidimType = Field(description="proposal, comment, debate or the Decidim class name.")
    id: DecidimId


class DecidimReport(BaseModel):
    """One ``Decidim::Report`` as JSON."""

    model_config = ConfigDict(extra="forbid")

    id: DecidimId | None = Field(None, description="The Decidim::Report id (one report per id).")
    reason: str = Field(max_length=100, description="spam, offensive, does_not_belong, …")
    details: str | None = Field(None, max_length=5000)
    locale: Locale | None = None
    created_at: AwareDatetime | None = None
    user: DecidimUser
    reportable: DecidimReportable

    @model_validator(mode="before")
    @classmethod
    def _moderation_columns(cls, data: Any) -> Any:
        """``moderation: {decidim_reportable_type, decidim_reportable_id}`` → ``reportable``."""
        if isinstance(data, dict) and "moderation" in data and "reportable" not in data:
            moderation = data["moderation"]
            rest = {k: v for k, v in data.items() if k != "moderation"}
            if isinstance(moderation, dict):
                extra = set(moderation) - {"decidim_reportable_type", "decidim_reportable_id"}
                if extra:
                    raise ValueError(f"moderation: unknown field(s) {', '.join(sorted(extra))}")
                rest["reportable"] = {
                    "type": moderation.get("decidim_reportable_type"),
                    "id": moderation.get("decidim_reportable_id"),
                }
                return rest
            return {**rest, "reportable": moderation}
        return data

    def report_data(self) -> dict[str, Any]:
        """The report in ``POST /v1/reports``'s shape."""
        return {
            "id": decidim_contribution_id(self.reportable.type, self.reportable.id),
            "reporter": self.user.id,
            "reason": self.reason,
            "details": self.details,
            "report_ref": f"decidim-report-{self.id}" if self.id is not None else None,
            "reported_at": self.created_at,
        }


def parse_decidim_reports(items: list[Any]) -> list[dict[str, Any]]:
    """Decidim report objects → report objects of the generic API, or 422 naming the field."""
    reports, refused = validate_objects(items, DecidimReport, "Decidim report")
    refuse_batch(refused, platform="", acts="reports", what="report", error="invalid_report")
    return [report.report_data() for _, report in reports]


def router(context: AppContext) -> APIRouter:
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1/decidim", "decidim")
    body_limit = settings.max_event_bytes * settings.api_max_batch

    def accept(items: list[Any], platform: str) -> ReportsAccepted:
        reports = parse_reports(parse_decidim_reports(items), platform)
        return publish_reports(context, platform, reports, producer="decidim")

    @api.post(
        "/reports",
        status_code=202,
        response_model=ReportsAccepted,
        summary="Submit Decidim reports (Decidim::Report)",
        description=(
            'One Decidim report or `{"reports": [...]}`: `reason`, `details`, `user`, and the '
            "`reportable` (or the moderation's `decidim_reportable_type`/`_id`). Answered like "
            "`POST /v1/reports`."
        ),
        responses=error_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=json_body(
            one_or_many(inline_schema(DecidimReport), "reports"), "Decidim reports."
        ),
    )
    async def reports(request: Request) -> ReportsAccepted:
        platform, raw = await keyed_body(request, require_platform, body_limit)
        data = parse_json(raw)
        items = batch_items(data, key="reports", max_batch=settings.api_max_batch, what="report")
        return await run_in_threadpool(accept, items, platform)

    return api
