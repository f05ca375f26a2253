"""``POST /v1/appeals``: an internal complaint (DSA Art. 20) filed by the platform for a person.

The appeal is against the contribution's latest decision: a moderator's approval or
rejection, a restrictive automatic outcome (hidden, rejected) or a restriction with a
statement of reasons. Refusals:

* 404 ``not_found`` when the contribution is not known to Hemicycle (never another
  platform's: the platform is the API key's), 404 ``nothing_to_appeal`` when it has no
  decision;
* 409 ``appeal_window_closed`` more than ``HEMICYCLE_APPEAL_WINDOW_DAYS`` after that decision;
* 422 when an author's appeal does not come from the author, or a reporter's from someone who
  did not report it.

The event id is uuid5 of (platform, id, appellant, ``appeal_ref`` or the statement's hash):
a retried request is one appeal.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.models import (
    ApiError,
    FieldError,
    ItemError,
    error_responses,
    inline_schema,
    json_body,
    keyed_body,
    parse_request,
)
from pipeline.api.readback import find_item
from pipeline.schemas.contribution import Identifier
from pipeline.schemas.envelope import Trace, utc_now
from pipeline.schemas.moderation import AppealFiled
from pipeline.schemas.queue import QueueItem

APPEAL_NAMESPACE = uuid.UUID("0b6f8a52-6c1e-4d7a-8f3b-3e2a9d51c7a4")
APPEALABLE_DECISIONS = frozenset({"approve", "reject"})
RESTRICTIVE_OUTCOMES = frozenset({"hidden", "rejected"})


class AppealIn(BaseModel):
    """One appeal as the platform files it."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier = Field(description="The contribution's id on the platform.")
    platform: str | None = Field(None, description="Defaults to (and must be) the key's.")
    appellant: Identifier = Field(description="Pseudonymous id of the person appealing.")
    appellant_role: Literal["author", "reporter"] = "author"
    statement: str = Field(min_length=1, max_length=5000, description="What the person says.")
    appeal_ref: str | None = Field(None, max_length=200, description="The platform's appeal id.")


class AppealAccepted(BaseModel):
    """202: the appeal was published; a moderator other than the one who decided decides it."""

    contribution_id: str
    contribution_version: int
    event_id: uuid.UUID = Field(description="The appeal's id: stable on resend.")
    appealed_at: datetime = Field(description="When the decision appealed was made.")
    window_closes_at: datetime


def appeal_event_id(platform: str, contribution_id: str, appellant: str, ref: str) -> uuid.UUID:
    name = json.dumps([platform, contribution_id, appellant, ref], ensure_ascii=False)
    return uuid.uuid5(APPEAL_NAMESPACE, name)


def last_decision_at(item: QueueItem) -> datetime | None:
    """When the decision an appeal would be against was made (None: nothing to appeal)."""
    times = [d.at for d in item.decisions if d.decision in APPEALABLE_DECISIONS]
    times += [a.at for a in item.automatic if a.outcome in RESTRICTIVE_OUTCOMES]
    times += [s.decided_at for s in item.statements]
    return max(times, default=None)


def _refused(field: str, reason: str, kind: str) -> ApiError:
    return ApiError(
        422,
        "invalid_appeal",
        f"{field}: {reason}",
        errors=[
            ItemError(
                message=f"{field}: {reason}",
                fields=[FieldError(field=field, message=reason, type=kind)],
            )
        ],
    )


def appeal_event(item: QueueItem, appeal: AppealIn, platform: str, window_days: int) -> AppealFiled:
    """The event of ``appeal`` against ``item``'s latest decision, or :class:`ApiError`."""
    decided_at = last_decision_at(item)
    if decided_at is None:
        raise ApiError(
            404,
            "nothing_to_appeal",
            f"contribution {item.contribution_id!r} has no decision to appeal (no moderator "
            "decision, restriction or restrictive automatic outcome)",
        )
    closes = decided_at + timedelta(days=window_days)
    if utc_now() > closes:
        detail = (
            f"the appeal window of {window_days} days (HEMICYCLE_APPEAL_WINDOW_DAYS) closed on "
            f"{closes.isoformat(timespec='seconds')}: the decision was made "
            f"{decided_at.isoformat(timespec='seconds')}"
        )
        raise ApiError(
            409,
            "appeal_window_closed",
            detail,
            errors=[
                ItemError(
                    id=appeal.id,
                    message=f"id: {detail}",
                    fields=[FieldError(field="id", message=detail, type="appeal_window_closed")],
                )
            ],
        )
    if appeal.appellant_role == "author" and appeal.appellant != item.contribution.author:
        raise _refused("appellant", "is not the contribution's author", "not_the_author")
    if appeal.appellant_role == "reporter" and appeal.appellant not in {
        r.reporter for r in item.reports
    }:
        raise _refused("appellant", "has not reported this contribution", "not_a_reporter")
    ref = appeal.appeal_ref or "sha256:" + hashlib.sha256(appeal.statement.encode()).hexdigest()
    event_id = appeal_event_id(platform, item.contribution.id, appeal.appellant, ref)
    return AppealFiled(
        event_id=event_id,
        contribution_id=item.contribution_id,
        contribution_version=item.version,
        trace=Trace(trace_id=event_id.hex, producer="api"),
        platform=platform,
        appellant=appeal.appellant,
        appellant_role=appeal.appellant_role,
        statement=appeal.statement,
        appeal_ref=appeal.appeal_ref,
    )


def router(context: AppContext) -> APIRouter:
    """``POST /v1/appeals`` over ``context``."""
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1", "appeals")

    def file(appeal: AppealIn, platform: str) -> AppealAccepted:
        if appeal.platform is not None and appeal.platform.strip() != platform:
            raise ApiError(
                403,
                "forbidden_platform",
                f"this API key files appeals for platform {platform!r} only",
            )
        item = find_item(context.store, platform, appeal.id)
        if item is None:
            raise ApiError(
                404,
                "not_found",
                f"no contribution {appeal.id[:200]!r} of platform {platform!r} is known to "
                "Hemicycle: an appeal is against a decision Hemicycle recorded",
            )
        event = appeal_event(item, appeal, platform, settings.appeal_window_days)
        context.publish([event])
        decided_at = last_decision_at(item)
        assert decided_at is not None
        return AppealAccepted(
            contribution_id=event.contribution_id,
            contribution_version=event.contribution_version,
            event_id=event.event_id,
            appealed_at=decided_at,
            window_closes_at=decided_at + timedelta(days=settings.appeal_window_days),
        )

    @api.post(
        "/appeals",
        status_code=202,
        response_model=AppealAccepted,
        summary="File an appeal (internal complaint, Art. 20) against a decision",
        description=(
            "For the author (or a reporter) of a decided contribution, within "
            f"`HEMICYCLE_APPEAL_WINDOW_DAYS` ({settings.appeal_window_days} here) of the "
            "decision. Resending is safe (same event id)."
        ),
        responses=error_responses(400, 401, 403, 404, 409, 415, 422, 503),
        openapi_extra=json_body(inline_schema(AppealIn), "One appeal."),
    )
    async def appeal(request: Request) -> AppealAccepted:
        platform, raw = await keyed_body(request, require_platform, settings.max_event_bytes)
        parsed = parse_request(raw, AppealIn)
        return await run_in_threadpool(file, parsed, platform)

    return api
