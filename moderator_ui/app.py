"""The web application: moderator UI and platform API in one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from pipeline.api.context import AppContext
from pipeline.api.routes import platform_routers
from pipeline.config import Settings


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    """Build the app over ``context`` (a new one on the configured bus and store if None)."""
    ctx = context if context is not None else AppContext(settings)
    app = FastAPI(title="Hemicycle", version="0.1.0")
    app.state.context = ctx
    for router in platform_routers(ctx):
        app.include_router(router)
    return app
