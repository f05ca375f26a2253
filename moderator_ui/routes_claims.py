"""Claims from the browser: "next item" (``n``), renewals that know whether anyone is there."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moderator_ui.queue_filters import QueueFilters, filter_problems
from moderator_ui.security import Session, client_address
from moderator_ui.web import services, writer

router = APIRouter()
ModeratorWrite = Annotated[Session, Depends(writer("moderator"))]


class NextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    view: str = Field("", max_length=4000, description="The queue URL's query string.")
    previous: str | None = Field(
        None, max_length=500, description="The item ``n`` handed before: released and skipped."
    )


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    active: bool = Field(description="A key or click by the moderator since the last renewal.")


@router.post("/api/next")
def next_item(body: NextIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    user, address = session.user.name, client_address(request)
    try:
        filters = QueueFilters.model_validate(dict(parse_qsl(body.view)))
    except ValidationError as exc:
        return JSONResponse(
            {"detail": f"this view's filters are not valid: {filter_problems(exc.errors())}"},
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    skip = [body.previous] if body.previous else []
    if body.previous:
        svc.claims.release(body.previous, user, address=address)
    view = svc.claims.next(filters.query(), user, skip=skip, address=address)
    if view is None:
        return JSONResponse(
            {"detail": "Nothing left in this view that nobody else has claimed."},
            status.HTTP_404_NOT_FOUND,
        )
    cid = view.item.contribution_id
    return JSONResponse({"cid": cid, "href": f"/items/{quote(cid, safe=':')}", "holder": user})


@router.post("/api/renew")
def renew(body: RenewIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    renewal = svc.claims.renew(
        body.cid, session.user.name, active=body.active, address=client_address(request)
    )
    settings = svc.settings
    return JSONResponse(
        {
            "holder": renewal.holder,
            "granted": renewal.holder == session.user.name,
            "idle_released": renewal.idle_released,
            "renew_s": max(1.0, min(settings.ui_lease_ttl_s, settings.ui_idle_release_s) / 3),
        }
    )
