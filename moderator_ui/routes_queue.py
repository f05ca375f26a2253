"""The moderator's queue, the review page, decisions, bulk actions and live updates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from moderator_ui.campaigns import campaign_summary
from moderator_ui.context import thread_context
from moderator_ui.queue_filters import (
    AGES,
    CATEGORIES,
    PER_PAGE,
    TABS,
    QueueFilters,
    parse_filters,
    tab_count,
)
from moderator_ui.review import REVIEWABLE, Conflict, NotFound, Taken, View
from moderator_ui.routing import default_view, readers, shown
from moderator_ui.saved_views import saved_views
from moderator_ui.security import Session, client_address, require
from moderator_ui.web import Services, render, services, writer
from moderator_ui.wellbeing import veil
from pipeline.store.base import QueueQuery

router = APIRouter()
Moderator = Annotated[Session, Depends(require("moderator"))]
ModeratorWrite = Annotated[Session, Depends(writer("moderator"))]


def _filters(request: Request) -> QueueFilters:
    """The view's filters; a bad value is left out (the queue page says which, in words)."""
    return parse_filters(request.query_params)[0]


def _rows(
    svc: Services, session: Session, filters: QueueFilters
) -> tuple[list[dict[str, Any]], int]:
    views, total = svc.review.page(filters.query())
    read = readers(svc.accounts)
    rows = []
    for view in views:
        item = view.item
        cid = item.contribution_id
        holder = svc.store.lease_holder(cid)
        toxicity = [s for s in item.scores if s.category != "spam"]
        top = max(toxicity, key=lambda s: s.value, default=None)
        seen = shown(item, session.user, read)
        rows.append(
            {
                "view": view,
                "item": item,
                "cid": cid,
                "translation": seen.translation,
                "translation_language": seen.language,
                "unread": seen.unread,
                "holder": holder if holder != session.user.name else None,
                "mine": holder == session.user.name,
                "top": top,
                "veil": veil(item, session.user, svc.settings.ui_blur_above),
            }
        )
    return rows, total


@router.get("/queue", response_class=HTMLResponse, response_model=None)
def queue_page(request: Request, session: Moderator) -> HTMLResponse | RedirectResponse:
    svc = services(request)
    start = default_view(session.user)
    if start and not request.url.query:  # a plain /queue: the moderator's languages
        return RedirectResponse(start, status_code=status.HTTP_303_SEE_OTHER)
    filters, problem = parse_filters(request.query_params)
    rows, total = _rows(svc, session, filters)
    pages = max(1, -(-total // PER_PAGE))
    if filters.page > pages:  # past the end: the last page
        filters = filters.model_copy(update={"page": pages})
        rows, total = _rows(svc, session, filters)
    counts = svc.store.counts()
    return render(
        request,
        "queue.html",
        session,
        status_code=status.HTTP_400_BAD_REQUEST if problem else status.HTTP_200_OK,
        problem=problem,
        views=saved_views(svc.store, session.user.name),
        filters=filters,
        rows=rows,
        total=total,
        tab_counts={key: tab_count(svc.store, counts, key) for key in TABS},
        tabs=TABS,
        ages=AGES,
        categories=CATEGORIES,
        reasons=svc.settings.ui_reject_reasons,
        languages=svc.settings.target_languages,
        pages=pages,
    )


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(request: Request, session: Moderator) -> HTMLResponse:
    """The list alone, for live refreshes."""
    svc = services(request)
    filters = _filters(request)
    rows, total = _rows(svc, session, filters)
    return render(request, "_rows.html", session, rows=rows, filters=filters, total=total)


@router.get("/items/{cid:path}", response_class=HTMLResponse)
def item_page(request: Request, cid: str, session: Moderator, back: str = "/queue") -> HTMLResponse:
    svc = services(request)
    try:
        view = svc.review.get(cid)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {cid}") from None
    item = view.item
    holder = svc.claims.claim(cid, session.user.name, address=client_address(request))
    seen = shown(item, session.user, readers(svc.accounts))
    author = svc.store.query(
        QueueQuery(author=item.contribution.author, order="newest", limit=21)
    ).items
    cluster = (
        svc.store.query(QueueQuery(cluster=item.cluster_id, order="oldest", limit=21)).items
        if item.cluster_id
        else []
    )
    return render(
        request,
        "item.html",
        session,
        view=view,
        item=item,
        holder=holder,
        taken=holder != session.user.name,
        translation=seen.translation,
        translation_language=seen.language or session.user.language,
        unread=seen.unread,
        history=[svc.review.view(i) for i in author if i.contribution_id != cid][:20],
        duplicates=[svc.review.view(i) for i in cluster if i.contribution_id != cid][:20],
        campaign=campaign_summary(svc.store, item),
        context=thread_context(svc.store, item),
        veil=veil(item, session.user, svc.settings.ui_blur_above),
        panel=svc.moderation.panel(item, session.user.name),
        reasons=svc.settings.ui_reject_reasons,
        reviewable=view.state in REVIEWABLE,
        back=back if back.startswith("/queue") else "/queue",
    )


class ItemRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cid: str = Field(min_length=1, max_length=500)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    decision: Literal["approve", "reject", "escalate"]
    reason_code: str | None = Field(None, max_length=100)
    statement: str | None = Field(None, max_length=10_000)
    seen_version: int = Field(ge=1)
    seen_decisions: int = Field(ge=0)
    idempotency_key: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,100}$", description="Made by the page once per action."
    )


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "escalate"]
    reason_code: str | None = Field(None, max_length=100)
    statement: str | None = Field(None, max_length=10_000)
    ids: list[str] | None = Field(None, max_length=1000)
    author: str | None = Field(None, max_length=200)
    cluster: str | None = Field(None, max_length=200)
    idempotency_key: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,100}$", description="Made by the page once per action."
    )

    @model_validator(mode="after")
    def _one_target(self) -> BulkIn:
        if sum(x is not None for x in (self.ids, self.author, self.cluster)) != 1:
            raise ValueError("give exactly one of ids, author or cluster")
        return self


def _state(view: View) -> dict[str, object]:
    item = view.item
    return {
        "cid": item.contribution_id,
        "state": item.state,
        "applying": view.applying,
        "decisions": [d.model_dump(mode="json") for d in item.decisions],
    }


@router.post("/api/claim")
def claim(body: ItemRef, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    holder = svc.claims.claim(body.cid, session.user.name, address=client_address(request))
    return JSONResponse({"holder": holder, "granted": holder == session.user.name})


@router.post("/api/release")
def release(body: ItemRef, request: Request, session: ModeratorWrite) -> JSONResponse:
    released = services(request).claims.release(
        body.cid, session.user.name, address=client_address(request)
    )
    return JSONResponse({"released": released})


@router.post("/api/decide")
def decide(body: DecisionIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    try:
        view = svc.review.decide(
            body.cid,
            session.user.name,
            body.decision,
            seen_version=body.seen_version,
            seen_decisions=body.seen_decisions,
            reason_code=body.reason_code,
            statement=body.statement,
            address=client_address(request),
            idempotency_key=body.idempotency_key,
        )
    except NotFound:
        return JSONResponse({"detail": f"no item {body.cid}"}, status.HTTP_404_NOT_FOUND)
    except Taken as exc:
        return JSONResponse(
            {"detail": f"{exc.holder} is reviewing this item", "holder": exc.holder},
            status.HTTP_423_LOCKED,
        )
    except Conflict as exc:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse(_state(view))


@router.post("/api/bulk")
def bulk(body: BulkIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    svc = services(request)
    try:
        result = svc.review.bulk(
            session.user.name,
            body.decision,
            ids=body.ids,
            author=body.author,
            cluster=body.cluster,
            reason_code=body.reason_code,
            statement=body.statement,
            address=client_address(request),
            idempotency_key=body.idempotency_key,
        )
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"decided": result.decided, "skipped": result.skipped})


@router.get("/api/counts")
def counts(request: Request, session: Moderator) -> JSONResponse:
    return JSONResponse(services(request).store.counts())


@router.get("/events")
async def events(request: Request, session: Moderator) -> StreamingResponse:
    notifier = request.app.state.notifier
    return StreamingResponse(
        notifier.stream(request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
