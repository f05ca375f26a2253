"""The operations page (moderators and admins): plots of the queue and the pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from moderator_ui.operations import figures
from moderator_ui.security import Session, require
from moderator_ui.web import render, services

router = APIRouter()
Moderator = Annotated[Session, Depends(require("moderator"))]


@router.get("/operations", response_class=HTMLResponse)
async def operations_page(request: Request, session: Moderator) -> HTMLResponse:
    svc = services(request)
    data = await run_in_threadpool(
        figures, svc.store, svc.audit, svc.accounts, svc.ctx.bus, svc.settings
    )
    return render(request, "operations.html", session, data=data)


@router.get("/api/operations")
async def operations_data(request: Request, session: Moderator) -> JSONResponse:
    """The figures the page draws, refreshed by it every few seconds."""
    svc = services(request)
    data = await run_in_threadpool(
        figures, svc.store, svc.audit, svc.accounts, svc.ctx.bus, svc.settings
    )
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
