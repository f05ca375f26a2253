"""Saved views: a moderator's named queue views (tab, filters, search, order).

Kept per user in the store's cache, namespace ``ui-views:<user>`` (one key, ``views``: a JSON
object name → query string), so they follow the moderator to any UI process and survive a
rebuild (the cache is not a projection of the log).
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from moderator_ui.queue_filters import parse_filters
from moderator_ui.security import Session
from moderator_ui.web import services, writer
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import ScopedNamespace, scoped

MAX_VIEWS = 30
KEY = "views"
router = APIRouter()
ModeratorWrite = Annotated[Session, Depends(writer("moderator"))]


def _namespace(user: str) -> ScopedNamespace:
    return scoped("ui-views", user)


def saved_views(store: QueueStore, user: str) -> dict[str, str]:
    """The user's views, name → query string, in the order they were saved."""
    raw = store.cache_get(_namespace(user), KEY)
    return json.loads(raw) if raw else {}


def _write(store: QueueStore, user: str, views: dict[str, str]) -> None:
    store.cache_set(_namespace(user), KEY, json.dumps(views))


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    view: str = Field("", max_length=4000, description="The queue URL's query string.")


class ViewName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)


@router.post("/api/views")
def save_view(body: ViewIn, request: Request, session: ModeratorWrite) -> JSONResponse:
    store = services(request).store
    filters, problem = parse_filters(dict(parse_qsl(body.view)))
    if problem:
        return JSONResponse(
            {"detail": f"not saved: {problem}"}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    views = saved_views(store, session.user.name)
    name = body.name.strip()
    if name not in views and len(views) >= MAX_VIEWS:
        return JSONResponse(
            {"detail": f"at most {MAX_VIEWS} saved views: delete one first"},
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    query = filters.url(page=1).partition("?")[2]
    views[name] = urlencode(parse_qsl(query))
    _write(store, session.user.name, views)
    return JSONResponse({"name": name, "href": "/queue?" + views[name], "views": views})


@router.post("/api/views/delete")
def delete_view(body: ViewName, request: Request, session: ModeratorWrite) -> JSONResponse:
    store = services(request).store
    views = saved_views(store, session.user.name)
    removed = views.pop(body.name, None) is not None
    _write(store, session.user.name, views)
    return JSONResponse({"deleted": removed, "views": views})
