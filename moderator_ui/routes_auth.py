"""Login, logout and the per-user settings."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from moderator_ui.accounts import AccountError
from moderator_ui.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    client_address,
    require,
    secure_cookies,
)
from moderator_ui.web import LANGUAGE_NAMES, Services, render, services, writer

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_form(
    request: Request, *, error: str | None = None, next_url: str = "/", code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status_code=code, error=error, next=next_url, csrf=token
    )
    settings = services(request).settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, settings),
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _login_form(request, next_url=_safe_next(next))


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    svc = services(request)
    address = client_address(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_form(
            request, error="The form expired: please try again.", code=status.HTTP_403_FORBIDDEN
        )
    if svc.sessions.locked_out(username, address):
        svc.audit.record(username, "login_failed", detail="locked out", address=address)
        return _login_form(
            request,
            error="Too many failed attempts. Wait five minutes, then try again.",
            code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    user = svc.accounts.verify(username, password)
    if user is None:
        svc.sessions.record_failure(username, address)
        svc.audit.record(username, "login_failed", address=address)
        return _login_form(
            request,
            error="Wrong user name or password.",
            next_url=_safe_next(next),
            code=status.HTTP_401_UNAUTHORIZED,
        )
    svc.sessions.clear_failures(username, address)
    svc.audit.record(user.name, "login", address=address)
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        svc.sessions.create(user),
        max_age=svc.settings.ui_session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, svc.settings),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: Annotated[Session, Depends(writer("moderator", "translator"))],
) -> RedirectResponse:
    svc = services(request)
    svc.sessions.end(session)
    svc.audit.record(session.user.name, "logout", address=client_address(request))
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_model=None)
def home(
    session: Annotated[Session, Depends(require("moderator", "translator"))],
) -> RedirectResponse:
    target = "/translate" if session.user.role == "translator" else "/queue"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    session: Annotated[Session, Depends(require("moderator", "translator"))],
    saved: bool = False,
) -> HTMLResponse:
    return render(
        request, "settings.html", session, saved=saved, **_settings_choices(services(request))
    )


def _settings_choices(svc: Services) -> dict[str, Any]:
    return {
        "languages": LANGUAGE_NAMES,
        "blur_above": svc.settings.ui_blur_above,
    }


@router.post("/settings", response_model=None)
def save_settings(
    request: Request,
    session: Annotated[Session, Depends(writer("moderator", "translator"))],
    language: Annotated[str, Form(max_length=10)],
    languages: Annotated[list[str] | None, Form(max_length=40)] = None,
    blur: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    svc: Services = services(request)
    try:
        svc.accounts.set_language(session.user.name, language)
        svc.accounts.set_languages(session.user.name, languages or [])
        svc.accounts.set_blur(session.user.name, blur is not None)
    except AccountError as exc:
        return render(
            request,
            "settings.html",
            session,
            status_code=422,
            error=str(exc),
            **_settings_choices(svc),
        )
    svc.audit.record(
        session.user.name,
        "settings_changed",
        detail=f"language {language}; reads {', '.join(languages or []) or 'all'}; "
        f"blur {'on' if blur is not None else 'off'}",
    )
    return RedirectResponse("/settings?saved=1", status_code=status.HTTP_303_SEE_OTHER)
