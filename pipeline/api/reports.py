"""``POST /v1/reports``: people's reports (notices) of a platform's contributions.

The body is one report or ``{"reports": [...]}`` (at most ``HEMICYCLE_API_MAX_BATCH``), all
or nothing like ``/v1/contributions``. Decisions:

* the platform is the API key's: ``id`` names a contribution of that platform only (a
  ``platform`` field naming another one is refused with 403), so a key can never report
  another platform's item;
* ``reason`` is Hemicycle's code or a Decidim / Coral one (:mod:`.report_reasons`), the
  original kept as ``reason_source``; ``illegal`` needs the Art. 16 fields in ``notice``
  (422 naming each missing one), and only ``illegal`` carries a notice;
* the event id is :func:`report_event_id` of (contribution, reporter, reason, ``report_ref``):
  a retried request is one report;
* the report is about the stored item's current version; a contribution not known yet gets
  version 1 and waits for it in triage (``status: waiting_for_contribution``).

The adapters (:mod:`.decidim_reports`, :mod:`.coral_flags`) reshape their payloads into
:class:`ReportIn` and publish through :func:`publish_reports`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.models import (
    FieldError,
    ItemError,
    error_responses,
    inline_schema,
    item_error,
    json_body,
    keyed_body,
    one_or_many,
    parse_json,
    refuse_batch,
)
from pipeline.api.readback import find_item
from pipeline.api.report_reasons import map_reason, unknown_reason
from pipeline.api.submission import batch_items, validate_objects
from pipeline.schemas.contribution import Identifier
from pipeline.schemas.envelope import Trace, utc_now
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.moderation import ContributionReported, IllegalNotice, report_event_id
from pipeline.store.base import QueueStore

ReportStatus = Literal["accepted", "waiting_for_contribution"]


class NoticeIn(BaseModel):
    """The Art. 16(2) elements of a notice of illegal content."""

    model_config = ConfigDict(extra="forbid")

    legal_ground: str = Field(
        min_length=1, max_length=500, description="The law the content is said to break."
    )
    explanation: str = Field(
        min_length=1, max_length=5000, description="Why the notifier holds it illegal."
    )
    notifier_name: str | None = Field(None, max_length=200)
    notifier_email: str | None = Field(
        None, max_length=320, description="Kept for answering; never exported nor shown in lists."
    )
    bona_fide: Literal[True] = Field(
        description="The notifier's statement that the notice is accurate and made in good faith."
    )
    trusted_flagger: bool = Field(False, description="Sent by a trusted flagger (Art. 22).")


class ReportIn(BaseModel):
    """One report as a platform sends it."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier = Field(description="The contribution's id on the platform.")
    platform: str | None = Field(None, description="Defaults to (and must be) the key's.")
    reporter: Identifier = Field(description="Pseudonymous id of the person reporting.")
    reason: str = Field(
        max_length=100,
        description="spam, offensive, does_not_belong, illegal, or a Decidim/Coral code.",
    )
    details: str | None = Field(None, max_length=5000)
    notice: NoticeIn | None = Field(None, description="Required for (and only for) illegal.")
    report_ref: str | None = Field(
        None, max_length=200, description="The platform's id of the report, if it has one."
    )
    reported_at: AwareDatetime | None = Field(None, description="Default: when received.")

    @model_validator(mode="before")
    @classmethod
    def _illegal_needs_a_notice(cls, data: Any) -> Any:
        """An illegal report without ``notice`` is validated with an empty one, so the answer
        names every missing Art. 16 field (``notice.legal_ground``, …)."""
        if isinstance(data, dict) and data.get("notice") is None:
            reason = data.get("reason")
            if isinstance(reason, str) and map_reason(reason) == "illegal":
                return {**data, "notice": {}}
        return data

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if map_reason(value) is None:
            raise ValueError(unknown_reason(value))
        return value.strip()

    @field_validator("notice")
    @classmethod
    def _notice_only_for_illegal(cls, value: NoticeIn | None, info: ValidationInfo) -> Any:
        reason = info.data.get("reason")
        if value is not None and reason is not None and map_reason(reason) != "illegal":
            raise ValueError("only a report for illegal content carries the Art. 16 notice")
        return value

    @property
    def mapped_reason(self) -> str:
        mapped = map_reason(self.reason)
        assert mapped is not None  # checked by the validator
        return mapped


class AcceptedReport(BaseModel):
    contribution_id: str = Field(description="`platform:id`, the id Hemicycle knows it by.")
    contribution_version: int = Field(description="The version reported (1 when not known).")
    event_id: uuid.UUID = Field(description="Stable on resend: one report per request.")
    reason: str = Field(description="Hemicycle's reason the code was mapped onto.")
    status: ReportStatus


class ReportsAccepted(BaseModel):
    """202: every report was published durably."""

    status: ReportStatus = Field(
        description="`waiting_for_contribution` when any reported contribution is not known "
        "yet (its report waits for it), else `accepted`."
    )
    reports: list[AcceptedReport]


def _forbidden(index: int, item_id: str | None, platform: str, given: str) -> ItemError:
    reason = f"{given[:200]!r} is not the API key's platform {platform!r}"
    return ItemError(
        index=index,
        id=item_id,
        message=f"platform: {reason}",
        fields=[FieldError(field="platform", message=reason, type="forbidden")],
    )


def parse_reports(
    items: Sequence[Any], platform: str, *, what: str = "report"
) -> list[tuple[int, ReportIn]]:
    """Raw report objects → :class:`ReportIn`, all valid or :class:`ApiError` (403/422)."""

    def own_platform(index: int, item_id: str | None, data: dict[str, Any]) -> ItemError | None:
        given = data.get("platform")
        if isinstance(given, str) and given.strip() and given.strip() != platform:
            return _forbidden(index, item_id, platform, given)
        return None

    out, refused = validate_objects(items, ReportIn, what, check=own_platform)
    refuse_batch(refused, platform=platform, acts="reports", what=what, error="invalid_report")
    return out


def report_event(
    store: QueueStore, platform: str, report: ReportIn, *, producer: str
) -> tuple[ContributionReported, ReportStatus]:
    """The event of one report and whether its contribution is known (else it waits).

    Raises ``ValidationError`` when the contribution key is longer than an event allows.
    """
    item = find_item(store, platform, report.id)
    if item is not None:
        cid, version, status = item.contribution_id, item.version, "accepted"
    else:
        cid, version, status = contribution_key(platform, report.id), 1, "waiting_for_contribution"
    reason = report.mapped_reason
    event_id = report_event_id(cid, report.reporter, reason, report.report_ref or "")
    notice = None
    if report.notice is not None:
        notice = IllegalNotice.model_validate(report.notice.model_dump())
    event = ContributionReported(
        event_id=event_id,
        occurred_at=report.reported_at or utc_now(),
        contribution_id=cid,
        contribution_version=version,
        trace=Trace(trace_id=event_id.hex, producer=producer),
        platform=platform,
        reporter=report.reporter,
        reason=reason,
        reason_source=report.reason,
        details=report.details,
        notice=notice,
    )
    return event, status  # type: ignore[return-value]


def publish_reports(
    context: AppContext,
    platform: str,
    reports: Sequence[tuple[int, ReportIn]],
    *,
    producer: str,
) -> ReportsAccepted:
    """Publish the reports' events (a repeat within the request once) and answer."""
    answers: list[AcceptedReport] = []
    events: dict[uuid.UUID, ContributionReported] = {}
    refused: list[ItemError] = []
    for index, report in reports:
        try:
            event, status = report_event(context.store, platform, report, producer=producer)
        except ValidationError as exc:
            refused.append(item_error(exc, index=index, item_id=report.id))
            continue
        events.setdefault(event.event_id, event)
        answers.append(
            AcceptedReport(
                contribution_id=event.contribution_id,
                contribution_version=event.contribution_version,
                event_id=event.event_id,
                reason=event.reason,
                status=status,
            )
        )
    refuse_batch(refused, platform=platform, acts="reports", what="report", error="invalid_report")
    context.publish(list(events.values()))
    waiting = any(a.status == "waiting_for_contribution" for a in answers)
    return ReportsAccepted(
        status="waiting_for_contribution" if waiting else "accepted", reports=answers
    )


_REPORT_SCHEMA = inline_schema(ReportIn)
_REPORTS_BODY = one_or_many(_REPORT_SCHEMA, "reports")


def router(context: AppContext) -> APIRouter:
    """``POST /v1/reports`` over ``context``."""
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1", "reports")
    body_limit = settings.max_event_bytes * settings.api_max_batch

    def accept(items: list[Any], platform: str) -> ReportsAccepted:
        return publish_reports(context, platform, parse_reports(items, platform), producer="api")

    @api.post(
        "/reports",
        status_code=202,
        response_model=ReportsAccepted,
        summary="Report contributions (people's notices, Art. 16 notices of illegal content)",
        description=(
            'One report or `{"reports": [...]}` (at most `HEMICYCLE_API_MAX_BATCH`). All or '
            "nothing; resending is safe (same event id). `reason` is Hemicycle's code or a "
            "Decidim/Coral one; `illegal` needs `notice`. A contribution not known yet: "
            "`waiting_for_contribution` (the report waits for it)."
        ),
        responses=error_responses(400, 401, 403, 413, 415, 422, 503),
        openapi_extra=json_body(_REPORTS_BODY, "One report, or a batch of them."),
    )
    async def report(request: Request) -> ReportsAccepted:
        platform, raw = await keyed_body(request, require_platform, body_limit)
        data = parse_json(raw)
        items = batch_items(data, key="reports", max_batch=settings.api_max_batch, what="report")
        return await run_in_threadpool(accept, items, platform)

    return api
