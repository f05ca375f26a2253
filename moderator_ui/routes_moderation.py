"""Moderation of record in the UI: appeals, sanctions, undo, and the author's page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from moderator_ui.moderation import Refused, Stale, sanction_status
from moderator_ui.review import Conflict, NotFound, Taken
from moderator_ui.routes_queue import _state as state_of
from moderator_ui.security import Session, client_address, require
from moderator_ui.web import render, services, writer
from pipeline.schemas.moderation import SanctionAction
from pipeline.schemas.queue import QueueItem, Report
from pipeline.store.base import QueueQuery

router = APIRouter()
Moderator = Annotated[Session, Depends(require("moderator"))]
ModeratorWrite = Annotated[Session, Depends(writer("moderator"))]
Key = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_-]{8,100}$", description="Made by the page once per action.")
]
AUTHOR_ITEMS = 1000


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    appeal_id: str = Field(min_length=1, max_length=100)
    result: Literal["upheld", "reversed"]
    reply: str = Field("", max_length=5000)
    idempotency_key: Key


class SanctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    action: SanctionAction
    until: date | None = Field(None, description="A suspension's last day (UTC).")
    reason_code: str | None = Field(None, max_length=100)
    statement: str = Field("", max_length=5000)
    idempotency_key: Key


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    sanction_id: str = Field(min_length=1, max_length=100)
    reason: str = Field("", max_length=5000)
    idempotency_key: Key


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    event_id: str = Field(min_length=1, max_length=100, description="The decision to undo.")
    idempotency_key: Key


def _refusal(exc: Exception) -> JSONResponse:
    """The HTTP answer for a refused moderation action."""
    code = {
        NotFound: status.HTTP_404_NOT_FOUND,
        Refused: status.HTTP_403_FORBIDDEN,
        Stale: status.HTTP_409_CONFLICT,
        Conflict: status.HTTP_409_CONFLICT,
        Taken: status.HTTP_423_LOCKED,
    }.get(type(exc), status.HTTP_422_UNPROCESSABLE_CONTENT)
    detail = str(exc.args[0]) if exc.args else str(exc)
    if isinstance(exc, Taken):
        detail = f"{exc.holder} is reviewing this item"
    return JSONResponse({"detail": detail}, code)


REFUSALS = (NotFound, Refused, Stale, Conflict, Taken, ValueError)


@router.post("/api/appeals/decide")
def decide_appeal(
    body: AppealDecisionIn, request: Request, session: ModeratorWrite
) -> JSONResponse:
    svc = services(request)
    try:
        event = svc.moderation.decide_appeal(
            body.cid,
            session.user.name,
            body.appeal_id,
            body.result,
            body.reply,
            key=body.idempotency_key,
            address=client_address(request),
        )
    except REFUSALS as exc:
        return _refusal(exc)
    return JSONResponse({"event_id": str(event.event_id), "result": event.result})


@router.post("/api/sanctions")
def sanction(body: SanctionIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    try:
        event = svc.moderation.sanction(
            body.cid,
            session.user.name,
            body.action,
            body.statement,
            until=body.until,
            reason_code=body.reason_code,
            key=body.idempotency_key,
            address=client_address(request),
        )
    except REFUSALS as exc:
        return _refusal(exc)
    until = event.until.isoformat() if event.until else None
    return JSONResponse({"event_id": str(event.event_id), "action": event.action, "until": until})


@router.post("/api/sanctions/lift")
def lift(body: LiftIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    try:
        event = svc.moderation.lift(
            body.cid,
            session.user.name,
            body.sanction_id,
            body.reason,
            key=body.idempotency_key,
            address=client_address(request),
        )
    except REFUSALS as exc:
        return _refusal(exc)
    return JSONResponse({"event_id": str(event.event_id)})


@router.post("/api/undo")
def undo(body: UndoIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    try:
        view = svc.review.undo(
            body.cid,
            session.user.name,
            body.event_id,
            address=client_address(request),
            idempotency_key=body.idempotency_key,
        )
    except REFUSALS as exc:
        return _refusal(exc)
    return JSONResponse(state_of(view))


def reports_made(
    items: list[QueueItem], platform: str, reporter: str
) -> list[tuple[QueueItem, Report]]:
    """Reports whose reporter is this pseudonymous id, on the platform's items.

    A scan of every item: there is no reporter index yet (fine for a team's store; a
    ``reporter`` facet would answer from an index when stores grow).
    """
    return [
        (item, r)
        for item in items
        if item.contribution.platform == platform
        for r in item.reports
        if r.reporter == reporter
    ]


@router.get("/authors/{platform}/{author:path}", response_class=HTMLResponse)
def author_page(request: Request, platform: str, author: str, session: Moderator) -> HTMLResponse:
    svc = services(request)
    found = svc.store.query(QueueQuery(author=author, order="newest", limit=AUTHOR_ITEMS))
    items = [i for i in found.items if i.contribution.platform == platform]
    made = reports_made(list(svc.store.iter_items()), platform, author)
    if not items and not made:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contribution or report by {author}")
    sanctions = sorted(
        ((s, sanction_status(s), i) for i in items for s in i.sanctions),
        key=lambda t: t[0].at,
        reverse=True,
    )
    received = sorted(
        ((r, i) for i in items for r in i.reports), key=lambda t: t[0].at, reverse=True
    )
    notes = [(d, i) for i in items for d in i.decisions if d.decision == "escalate" and d.statement]
    return render(
        request,
        "author.html",
        session,
        platform=platform,
        author=author,
        views=[svc.review.view(i) for i in items],
        capped=found.total > AUTHOR_ITEMS,
        sanctions=sanctions,
        active=[s for s, state, _ in sanctions if state == "active"],
        received=received,
        made=sorted(made, key=lambda t: t[1].at, reverse=True),
        notes=notes,
    )
