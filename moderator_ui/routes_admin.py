"""Admin pages: the audit log (filter, CSV) and accounts (add, change role or password,
disable, enable; all but enable end every session of the user)."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from moderator_ui.accounts import ROLES, AccountError
from moderator_ui.audit import ACTIONS, AuditFilter
from moderator_ui.security import Session, client_address, require
from moderator_ui.web import render, services, writer

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]
AdminWrite = Annotated[Session, Depends(writer("admin"))]


def _audit_filter(request: Request) -> AuditFilter:
    params = {k: v for k, v in request.query_params.items() if v and k != "page"}
    for key in ("since", "until"):
        if key in params and len(params[key]) == 10:  # a date: the whole day, in UTC
            params[key] += "T00:00:00+00:00" if key == "since" else "T23:59:59+00:00"
    try:
        return AuditFilter.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad filter: {problems}") from None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: Admin) -> HTMLResponse:
    svc = services(request)
    flt = _audit_filter(request)
    entries = list(islice(svc.audit.entries(flt), 200))
    return render(
        request,
        "audit.html",
        session,
        entries=entries,
        flt=flt,
        actions=ACTIONS,
        query=request.url.query,
    )


@router.get("/audit.csv")
def audit_csv(request: Request, session: Admin) -> StreamingResponse:
    svc = services(request)
    flt = _audit_filter(request)
    svc.audit.record(session.user.name, "export", detail="audit log CSV")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        svc.audit.csv(flt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hemicycle-audit-{stamp}.csv"'},
    )


def _users_page(
    request: Request, session: Session, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    users = services(request).accounts.all()
    return render(
        request, "users.html", session, status_code, users=users, roles=ROLES, error=error
    )


def _account_changed(
    request: Request, session: Session, action: str, target: str, **fields: str
) -> RedirectResponse:
    """Audit a change the admin made to an account, then go back to the accounts page."""
    services(request).audit.record(
        session.user.name, action, target=target, address=client_address(request), **fields
    )
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: Admin) -> HTMLResponse:
    return _users_page(request, session)


@router.post("/admin/users", response_model=None)
def add_user(
    request: Request,
    session: AdminWrite,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    svc = services(request)
    try:
        user = svc.accounts.add(name, role, password)
    except AccountError as exc:
        return _users_page(request, session, error=str(exc), status_code=422)
    return _account_changed(request, session, "user_added", user.name, detail=user.role)


@router.post("/admin/users/role", response_model=None)
def change_role(
    request: Request,
    session: AdminWrite,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    svc = services(request)
    try:
        user, before = svc.accounts.set_role(name, role)
    except AccountError as exc:
        return _users_page(request, session, error=str(exc), status_code=422)
    return _account_changed(
        request,
        session,
        "role_changed",
        user.name,
        detail=f"{before} → {user.role}",
        reason=reason,
    )


@router.post("/admin/users/password", response_model=None)
def change_password(
    request: Request,
    session: AdminWrite,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    svc = services(request)
    try:
        user = svc.accounts.set_password(name, password)
    except AccountError as exc:
        return _users_page(request, session, error=str(exc), status_code=422)
    return _account_changed(
        request,
        session,
        "password_changed",
        user.name,
        detail="sessions ended",
    )


@router.post("/admin/users/languages", response_model=None)
def set_languages(
    request: Request,
    session: AdminWrite,
    name: Annotated[str, Form(max_length=64)],
    languages: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The languages a moderator reads (comma-separated): their default queue view."""
    svc = services(request)
    try:
        user = svc.accounts.set_languages(name, languages.split(","))
    except AccountError as exc:
        return _users_page(request, session, error=str(exc), status_code=422)
    return _account_changed(
        request,
        session,
        "user_languages",
        user.name,
        detail=", ".join(user.languages) or "every language",
    )


@router.post("/admin/users/{action}", response_model=None)
def disable_or_enable(
    request: Request,
    session: AdminWrite,
    action: Literal["disable", "enable"],
    name: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    svc = services(request)
    if action == "disable" and name.lower() == session.user.name.lower():
        return _users_page(
            request, session, error="you cannot disable your own account", status_code=422
        )
    try:
        user = svc.accounts.set_disabled(name, action == "disable")
    except AccountError as exc:
        return _users_page(request, session, error=str(exc), status_code=422)
    return _account_changed(request, session, f"user_{action}d", user.name, reason=reason)
