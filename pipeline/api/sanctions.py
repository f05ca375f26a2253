"""``POST /v1/sanctions`` and ``POST /v1/sanctions/{sanction_id}/lift``: author sanctions.

A sanction (warn, suspend until a date, ban, pre-moderate) is imposed for a contribution
(``id``) of the API key's platform; the author is the stored contribution's, so a key names
no author of its own choosing and a contribution Hemicycle does not know is refused (404).
``moderator`` defaults to ``platform:<name>``. The event id is uuid5 of (platform, id,
action, until, ``sanction_ref`` or the statement's hash): a retried request is one sanction.

Lifting names the sanction by its id (the ``AuthorSanctioned`` event id this API answered).
The sanction is found on the stored item (``id`` in the body) or, for sanctions this API
imposed, in a small index (store cache namespace ``sanctions``, sanction id → contribution).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.models import (
    ApiError,
    error_responses,
    inline_schema,
    item_error,
    json_body,
    keyed_body,
    parse_request,
)
from pipeline.api.readback import find_item
from pipeline.api.submission import read_item, stored_under_own_key
from pipeline.schemas.contribution import Identifier
from pipeline.schemas.envelope import Trace, utc_now
from pipeline.schemas.keys import split_key
from pipeline.schemas.moderation import AuthorSanctioned, SanctionAction, SanctionLifted
from pipeline.schemas.queue import QueueItem
from pipeline.store.namespaces import CacheNamespace

SANCTION_NAMESPACE = uuid.UUID("9e4d2b71-3a5f-4c08-b6e1-7d2c8f0a5b93")
INDEX: CacheNamespace = "sanctions"


class SanctionIn(BaseModel):
    """A sanction on the author of a contribution."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier = Field(description="The contribution the sanction is imposed for.")
    platform: str | None = Field(None, description="Defaults to (and must be) the key's.")
    action: SanctionAction
    until: AwareDatetime | None = Field(
        None, validate_default=True, description="End of a suspension (required for suspend)."
    )
    statement: str = Field(min_length=1, max_length=5000, description="Reasons (Art. 17).")
    reason_code: str | None = Field(None, max_length=100)
    moderator: Identifier | None = Field(None, description="Default: `platform:<name>`.")
    sanction_ref: str | None = Field(None, max_length=200, description="The platform's id.")

    @field_validator("until")
    @classmethod
    def _suspension_ends(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        action = info.data.get("action")
        if action == "suspend" and value is None:
            raise ValueError("a suspension needs an end date")
        if action is not None and action != "suspend" and value is not None:
            raise ValueError(f"only a suspension has an end date, not {action}")
        if value is not None and value <= utc_now():
            raise ValueError("the end of a suspension must be in the future")
        return value


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier | None = Field(
        None, description="The contribution the sanction was imposed for (optional)."
    )
    reason: str = Field(min_length=1, max_length=5000)
    moderator: Identifier | None = Field(None, description="Default: `platform:<name>`.")


class SanctionAccepted(BaseModel):
    """202: the sanction event was published (delivered to the platform by webhook)."""

    sanction_id: uuid.UUID = Field(description="The AuthorSanctioned event id; lift with it.")
    contribution_id: str
    author: str
    action: SanctionAction
    until: datetime | None


class LiftAccepted(BaseModel):
    event_id: uuid.UUID
    sanction_id: str
    contribution_id: str


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def sanction_event_id(platform: str, contribution_id: str, sanction: SanctionIn) -> uuid.UUID:
    until = sanction.until.isoformat() if sanction.until else None
    ref = sanction.sanction_ref or _digest(sanction.statement)
    name = json.dumps([platform, contribution_id, sanction.action, until, ref], ensure_ascii=False)
    return uuid.uuid5(SANCTION_NAMESPACE, name)


def _check_platform(given: str | None, platform: str) -> None:
    if given is not None and given.strip() != platform:
        raise ApiError(
            403, "forbidden_platform", f"this API key acts for platform {platform!r} only"
        )


def _unknown(platform: str, given: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no contribution {given[:200]!r} of platform {platform!r} is known to Hemicycle: a "
        "sanction is imposed for a contribution Hemicycle has (its author comes from it)",
    )


def _event_error(exc: ValidationError) -> ApiError:
    error = item_error(exc, index=None, item_id=None)
    return ApiError(422, "invalid_sanction", error.message, errors=[error])


def router(context: AppContext) -> APIRouter:
    """The sanction endpoints over ``context``."""
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1", "sanctions")

    def impose(sanction: SanctionIn, platform: str) -> SanctionAccepted:
        _check_platform(sanction.platform, platform)
        item = find_item(context.store, platform, sanction.id)
        if item is None:
            raise _unknown(platform, sanction.id)
        event_id = sanction_event_id(platform, item.contribution.id, sanction)
        try:
            event = AuthorSanctioned(
                event_id=event_id,
                contribution_id=item.contribution_id,
                contribution_version=item.version,
                trace=Trace(trace_id=event_id.hex, producer="api"),
                platform=platform,
                author=item.contribution.author,
                action=sanction.action,
                until=sanction.until,
                moderator=sanction.moderator or f"platform:{platform}",
                reason_code=sanction.reason_code,
                statement=sanction.statement,
            )
        except ValidationError as exc:
            raise _event_error(exc) from None
        context.publish([event])
        context.store.cache_set(INDEX, str(event_id), item.contribution_id)
        return SanctionAccepted(
            sanction_id=event_id,
            contribution_id=item.contribution_id,
            author=event.author,
            action=event.action,
            until=event.until,
        )

    def sanctioned_item(sanction_id: str, given: str | None, platform: str) -> QueueItem:
        """The platform's item the sanction was imposed for, or 404."""
        if given is not None:
            item = find_item(context.store, platform, given)
        else:
            key = context.store.cache_get(INDEX, sanction_id)
            item = None
            if key is not None and split_key(key)[0] == platform:
                found = read_item(context.store, key)
                item = found if found is not None and stored_under_own_key(found, key) else None
        if item is None:
            raise ApiError(
                404,
                "not_found",
                f"no sanction {sanction_id[:100]!r} of platform {platform!r} is known: give the "
                "contribution it was imposed for as `id`",
            )
        return item

    def lift(raw_id: str, body: LiftIn, platform: str) -> LiftAccepted:
        try:
            sanction_id = str(uuid.UUID(raw_id))
        except ValueError:
            raise ApiError(
                404, "not_found", f"{raw_id[:100]!r} is not a sanction id (a UUID)"
            ) from None
        item = sanctioned_item(sanction_id, body.id, platform)
        known = {s.event_id: s for s in item.sanctions}
        indexed = context.store.cache_get(INDEX, sanction_id) == item.contribution_id
        if sanction_id not in known and not indexed:
            raise ApiError(
                404,
                "not_found",
                f"contribution {item.contribution_id!r} has no sanction {sanction_id[:100]!r}",
            )
        held = known.get(sanction_id)
        if held is not None and held.lifted_at is not None:
            raise ApiError(
                409,
                "already_lifted",
                f"sanction {sanction_id} was lifted at {held.lifted_at.isoformat()}",
            )
        event_id = uuid.uuid5(SANCTION_NAMESPACE, f"lift/{sanction_id}")
        try:
            event = SanctionLifted(
                event_id=event_id,
                contribution_id=item.contribution_id,
                contribution_version=item.version,
                trace=Trace(trace_id=event_id.hex, producer="api"),
                sanction_id=sanction_id,
                moderator=body.moderator or f"platform:{platform}",
                reason=body.reason,
            )
        except ValidationError as exc:
            raise _event_error(exc) from None
        context.publish([event])
        return LiftAccepted(
            event_id=event_id, sanction_id=sanction_id, contribution_id=item.contribution_id
        )

    @api.post(
        "/sanctions",
        status_code=202,
        response_model=SanctionAccepted,
        summary="Sanction the author of a contribution (warn, suspend, ban, pre-moderate)",
        description=(
            "The author is the stored contribution's. `until` is required for `suspend` (and "
            "only for it). Resending is safe (same event id)."
        ),
        responses=error_responses(400, 401, 403, 404, 415, 422, 503),
        openapi_extra=json_body(inline_schema(SanctionIn), "One sanction."),
    )
    async def sanction(request: Request) -> SanctionAccepted:
        platform, raw = await keyed_body(request, require_platform, settings.max_event_bytes)
        parsed = parse_request(raw, SanctionIn)
        return await run_in_threadpool(impose, parsed, platform)

    @api.post(
        "/sanctions/{sanction_id}/lift",
        status_code=202,
        response_model=LiftAccepted,
        summary="Lift a sanction early",
        responses=error_responses(400, 401, 404, 409, 415, 422, 503),
        openapi_extra=json_body(inline_schema(LiftIn), "Why it is lifted."),
    )
    async def lift_sanction(sanction_id: str, request: Request) -> LiftAccepted:
        platform, raw = await keyed_body(request, require_platform, settings.max_event_bytes)
        parsed = parse_request(raw, LiftIn)
        return await run_in_threadpool(lift, sanction_id.strip(), parsed, platform)

    return api
