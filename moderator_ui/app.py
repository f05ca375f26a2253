"""The web application: moderator UI and platform API in one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from moderator_ui import (
    routes_admin,
    routes_auth,
    routes_claims,
    routes_moderation,
    routes_operations,
    routes_queue,
    routes_translate,
    routes_transparency,
    saved_views,
)
from moderator_ui.live import Notifier
from moderator_ui.operations import Sampler
from moderator_ui.security import LoginRequired
from moderator_ui.web import Services, render
from pipeline.api.context import AppContext
from pipeline.api.routes import platform_routers
from pipeline.config import Settings
from pipeline.metrics import MetricsMiddleware

STATIC = Path(__file__).parent / "static"
# Contributions are hostile input: no inline script may run, whatever slips into a page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_UI_PREFIXES = (
    "/login",
    "/logout",
    "/queue",
    "/items",
    "/authors",
    "/translate",
    "/audit",
    "/admin",
    "/operations",
)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path == "/settings" or path.startswith(_UI_PREFIXES)


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    """Build the app over ``context`` (a new one on the configured bus and store if None)."""
    ctx = context if context is not None else AppContext(settings)
    notifier = Notifier(ctx.store)
    sampler = Sampler(ctx.store, ctx.bus, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.start()
        sampler.start()
        yield
        await sampler.stop()
        await notifier.stop()
        if context is None:
            ctx.close()

    app = FastAPI(title="Hemicycle", version="0.1.0", lifespan=lifespan)
    app.add_middleware(MetricsMiddleware)
    app.state.context = ctx
    app.state.services = Services(ctx)
    app.state.sessions = app.state.services.sessions
    app.state.notifier = notifier

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if _is_page(request):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_page(request) and request.method == "GET":
            session = getattr(request.state, "session", None)
            return render(
                request, "error.html", session, status_code=exc.status_code, detail=exc.detail
            )
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        routes_auth.router,
        routes_queue.router,
        routes_moderation.router,
        routes_translate.router,
        routes_admin.router,
        routes_transparency.router,
        routes_operations.router,
        routes_claims.router,
        saved_views.router,
    ):
        app.include_router(router, include_in_schema=False)
    for router in platform_routers(ctx):
        app.include_router(router)
    return app
