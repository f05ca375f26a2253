"""Health and metrics: ``/healthz`` (alive), ``/readyz`` (store and bus answer), ``/metrics``.

``/readyz`` makes one cheap call to each backend, each bounded by :data:`CHECK_TIMEOUT_S` (a
hung broker must not hang the probe), and answers 503 naming what failed. ``/metrics`` is the
Prometheus text of the process's default registry; metric definitions live in
``pipeline.metrics`` when that module exists (imported here so they are registered). Neither
needs a key: expose them to the orchestrator and Prometheus, not to the internet.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel

from pipeline.api.context import AppContext
from pipeline.logs import get_logger

log = get_logger("api")
CHECK_TIMEOUT_S = 3.0
_metrics_imported = threading.Event()


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Check]


def _import_metric_definitions() -> None:
    """Register the product's metrics (``pipeline.metrics``) if that module exists."""
    if _metrics_imported.is_set():
        return
    _metrics_imported.set()
    try:
        if importlib.util.find_spec("pipeline.metrics") is not None:
            importlib.import_module("pipeline.metrics")
    except Exception as exc:  # metrics are an aid: a broken module must not break /metrics
        log.error("pipeline.metrics failed to import", extra={"error": str(exc)})


def router(context: AppContext) -> APIRouter:
    api = APIRouter(tags=["health"])
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
    settings = context.settings

    def check(call: Callable[[], object]) -> Check:
        future = pool.submit(call)
        try:
            future.result(timeout=CHECK_TIMEOUT_S)
        except FutureTimeout:
            return Check(ok=False, error=f"no answer within {CHECK_TIMEOUT_S:g} s")
        except Exception as exc:
            return Check(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return Check(ok=True)

    @api.get("/healthz", response_model=Alive, summary="The process is alive (always 200)")
    def healthz() -> Alive:
        return Alive()

    @api.get(
        "/readyz",
        response_model=Readiness,
        summary="Store and bus answer (200), or which one does not (503)",
        responses={503: {"model": Readiness, "description": "A backend is unavailable."}},
    )
    def readyz() -> JSONResponse:
        checks = {
            "store": check(lambda: context.store.cache_get("health", "ping")),
            "bus": check(lambda: context.bus.topic_counts([settings.topic("submitted")])),
        }
        ready = all(c.ok for c in checks.values())
        body = Readiness(status="ready" if ready else "unavailable", checks=checks)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)

    @api.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics() -> Response:
        _import_metric_definitions()
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return api
