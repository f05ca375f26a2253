"""Shared pieces of the UI routes: templates, the current session, CSRF-checked writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from moderator_ui.accounts import Accounts, Role
from moderator_ui.audit import AuditLog
from moderator_ui.claims import Claims
from moderator_ui.context import ORIGIN_WORDS, translation_origins
from moderator_ui.moderation import SANCTION_LABELS, Moderation
from moderator_ui.passage import highest_passage
from moderator_ui.queue_filters import TAB_FACETS
from moderator_ui.review import Review, last_final
from moderator_ui.security import Session, Sessions, check_csrf, require
from moderator_ui.translations import Workspace
from moderator_ui.usertext import usertext
from pipeline.api.context import AppContext

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
REASON_LABELS = {
    "spam": "Spam",
    "offensive": "Offensive",
    "illegal": "Illegal content",
    "off_topic": "Off-topic",
    "personal_data": "Personal data",
    "harassment": "Harassment",
    "misinformation": "Misinformation",
    "duplicate": "Duplicate",
    "other": "Other",
}


def _age(value: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


TEMPLATES.env.filters["age"] = _age
TEMPLATES.env.filters["usertext"] = usertext
LANGUAGE_NAMES = {
    "bg": "Български", "cs": "Čeština", "da": "Dansk", "de": "Deutsch", "el": "Ελληνικά",
    "en": "English", "es": "Español", "et": "Eesti", "fi": "Suomi", "fr": "Français",
    "ga": "Gaeilge", "hr": "Hrvatski", "hu": "Magyar", "it": "Italiano", "lt": "Lietuvių",
    "lv": "Latviešu", "mt": "Malti", "nl": "Nederlands", "pl": "Polski", "pt": "Português",
    "ro": "Română", "sk": "Slovenčina", "sl": "Slovenščina", "sv": "Svenska",
}  # fmt: skip
TEMPLATES.env.globals["language_name"] = lambda code: LANGUAGE_NAMES.get(code or "", code or "?")


def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, code.replace("_", " ").capitalize())


TEMPLATES.env.globals["reason_label"] = reason_label
TEMPLATES.env.globals["highest_passage"] = highest_passage
TEMPLATES.env.globals["last_final"] = last_final
TEMPLATES.env.globals["tab_facets"] = TAB_FACETS
TEMPLATES.env.globals["sanction_labels"] = SANCTION_LABELS
TEMPLATES.env.globals["translation_origins"] = translation_origins
TEMPLATES.env.globals["origin_words"] = ORIGIN_WORDS


class Services:
    """Everything the routes use, built once per app."""

    def __init__(self, context: AppContext) -> None:
        self.ctx = context
        self.settings = context.settings
        self.store = context.store
        self.accounts = Accounts(context.store)
        self.audit = AuditLog(context.store)
        self.sessions = Sessions(context.store, self.accounts, context.settings)
        self.review = Review(context, self.audit)
        self.claims = Claims(self.review, self.audit)
        self.moderation = Moderation(context, self.audit)
        self.workspace = Workspace(context, self.audit)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def writer(*roles: Role) -> Callable[[Request], Awaitable[Session]]:
    """Like :func:`require`, for state-changing requests: the CSRF token must match."""
    reader = require(*roles)

    async def dependency(request: Request) -> Session:
        session = reader(request)
        await check_csrf(request, session)
        return session

    return dependency


def render(
    request: Request, template: str, session: Session | None, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "user": session.user if session else None, **ctx},
        status_code=status_code,
    )
