"""The ingest API: platforms submit contributions and read back what Hemicycle made of them.

``POST /v1/contributions`` (``Authorization: Bearer <key>``) takes one contribution object or
``{"contributions": [...]}`` (at most ``HEMICYCLE_API_MAX_BATCH``). Decisions:

* **all or nothing**: a batch is published only when every item is valid; otherwise 422 lists
  each failing item (``index``, ``id``, fields). A platform fixes and resends the whole batch,
  which is safe because publishing is idempotent (next point);
* **idempotent**: the event id is ``uuid5(platform, id, version)``, so resending a version
  publishes the same event id and downstream stages drop the repeat. A version is immutable:
  to change a contribution, send a higher ``version`` (a different text under a version already
  processed is refused with 409);
* **limits**: more items than ``api_max_batch`` → 413 ``batch_too_large``; a body larger than
  ``max_event_bytes * api_max_batch`` → 413 ``body_too_large``, refused from ``Content-Length``
  or while reading, before anything is parsed; versions above 2^53-1 → 422;
* ``platform`` may be omitted (the key's platform is filled in); another platform → 403.

The answer is 202 (accepted for processing): ``GET /v1/contributions/{id}`` shows the result
once the pipeline has processed it (404 until then).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.models import (
    ApiError,
    ItemError,
    capped,
    error_responses,
    inline_schema,
    json_body,
    json_type,
    keyed_body,
    one_or_many,
    parse_json,
)
from pipeline.api.readback import ContributionStatus, contribution_status, find_item, not_found
from pipeline.api.submission import (
    Accepted,
    accepted,
    batch_items,
    build_events,
    check_conflicts,
    stored_items,
)
from pipeline.schemas import Contribution

# --- the router --------------------------------------------------------------------------------

_INGEST_SCHEMA = inline_schema(Contribution)
_INGEST_SCHEMA["required"] = [f for f in _INGEST_SCHEMA["required"] if f != "platform"]
_INGEST_SCHEMA["properties"]["platform"]["description"] = "Defaults to the API key's platform."
_INGEST_BODY = one_or_many(_INGEST_SCHEMA, "contributions")


def router(context: AppContext) -> APIRouter:
    """``POST /v1/contributions`` and ``GET /v1/contributions/{id}`` over ``context``."""
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1", "contributions")
    body_limit = settings.max_event_bytes * settings.api_max_batch

    def ingest(items: list[Any], platform: str) -> Accepted:
        shaped: list[tuple[int, dict[str, Any]]] = []
        not_objects: list[ItemError] = []
        for index, data in enumerate(items):
            if isinstance(data, dict):
                shaped.append((index, data))
            else:
                message = f"expected a contribution object, got {json_type(data)}"
                not_objects.append(ItemError(index=index, message=message))
        if not_objects:
            raise ApiError(
                422,
                "invalid_contribution",
                f"item {not_objects[0].index}: {not_objects[0].message}; nothing was accepted",
                errors=capped(not_objects),
            )
        events = build_events(shaped, platform, settings, producer="api")
        stored = stored_items(context.store, [e.contribution_id for e in events])
        check_conflicts(events, stored)
        context.publish(events)
        return Accepted(accepted=[accepted(event) for event in events])

    @api.post(
        "/contributions",
        status_code=202,
        response_model=Accepted,
        summary="Submit contributions for moderation and translation",
        description=(
            'One contribution object, or `{"contributions": [...]}` (at most '
            f"`HEMICYCLE_API_MAX_BATCH`, {settings.api_max_batch} here). All or nothing: an "
            "invalid item refuses the batch (422 names each item and field). Resending a "
            "version is safe (same event id). `platform` defaults to the key's platform."
        ),
        responses=error_responses(400, 401, 403, 409, 413, 415, 422, 503),
        openapi_extra=json_body(_INGEST_BODY, "One contribution, or a batch of them."),
    )
    async def submit(
        request: Request,
    ) -> Accepted:
        platform, raw = await keyed_body(request, require_platform, body_limit)
        data = parse_json(raw)
        items = batch_items(
            data, key="contributions", max_batch=settings.api_max_batch, what="contribution"
        )
        return await run_in_threadpool(ingest, items, platform)

    @api.get(
        "/contributions/{contribution_id:path}",
        response_model=ContributionStatus,
        summary="What Hemicycle made of a contribution",
        description=(
            "Language, translations, scores, spam signals, state, reasons and decisions of the "
            "newest processed version. `contribution_id` is the platform's `id` or "
            "`platform:id`; only the key's platform's contributions are visible."
        ),
        responses=error_responses(401, 404, 503),
    )
    def get_contribution(contribution_id: str, request: Request) -> ContributionStatus:
        platform = require_platform(request)
        item = find_item(context.store, platform, contribution_id)
        if item is None:
            raise not_found(platform, contribution_id)
        return contribution_status(item)

    return api
