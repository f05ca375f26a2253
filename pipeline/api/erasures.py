"""``POST /v1/erasures``: erase a participant's personal data (see :mod:`pipeline.privacy.erasure`).

Body: ``{"author": <pseudonymous author id>}`` (every contribution of theirs, and any that
arrives later) or ``{"id": <the platform's contribution id>}`` (one contribution), for the API
key's platform only. 202 with the contributions erased and the event ids; 404 when none of the
platform's contributions matches (nothing erased). Repeating a request is safe: the same
events, nothing more.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.models import (
    ApiError,
    error_responses,
    inline_schema,
    json_body,
    keyed_body,
    parse_request,
)
from pipeline.privacy.erasure import NothingToErase, erase
from pipeline.schemas.contribution import Identifier


class ErasureIn(BaseModel):
    """Whose data to erase: an author, or one contribution."""

    model_config = ConfigDict(extra="forbid")

    author: Identifier | None = None
    id: Identifier | None = None
    requested_by: str | None = Field(None, max_length=200, description="Recorded with it.")

    @model_validator(mode="after")
    def _one(self) -> ErasureIn:
        if (self.author is None) == (self.id is None):
            raise ValueError("give either `author` or `id`")
        return self


class ErasureAccepted(BaseModel):
    status: str = "erased"
    contributions: list[str]
    event_ids: list[str]


def router(context: AppContext) -> APIRouter:
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1", "erasures")

    def run(body: ErasureIn, platform: str) -> ErasureAccepted:
        try:
            report = erase(
                context.store,
                settings,
                context.publish,
                platform=platform,
                author=body.author,
                contribution=body.id,
                requested_by=body.requested_by or f"api:{platform}",
            )
        except NothingToErase as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return ErasureAccepted(contributions=report.contributions, event_ids=report.events)

    @api.post(
        "/erasures",
        status_code=202,
        response_model=ErasureAccepted,
        summary="Erase an author's (or one contribution's) personal data, log included",
        responses=error_responses(400, 401, 404, 415, 422, 503),
        openapi_extra=json_body(inline_schema(ErasureIn), "An author or a contribution id."),
    )
    async def erasures(request: Request) -> ErasureAccepted:
        platform, raw = await keyed_body(request, require_platform, settings.max_event_bytes)
        parsed = parse_request(raw, ErasureIn)
        return await run_in_threadpool(run, parsed, platform)

    return api
