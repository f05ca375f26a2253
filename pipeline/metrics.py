"""Prometheus metrics (``hemicycle_*``, default registry) and the workers' health server.

Workers serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``HEMICYCLE_METRICS_PORT`` (off
when 0) with :func:`start_worker_http`; the web app measures its requests with
:class:`MetricsMiddleware` and exposes the same registry with :func:`metrics_endpoint`.

Everything here is opt-in: the runner binds a :class:`StageMetrics` only when metrics are
enabled, so the default path does no metric work at all. Readings that cost a round trip
(consumer lag, queue counts) are taken at most every :data:`REFRESH_INTERVAL_S`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from pipeline.logs import get_logger
from pipeline.schemas.queue import QUEUE_STATES

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from pipeline.store.base import QueueStore

log = get_logger("metrics")

# Seconds between two readings of consumer lag or queue counts (each is a broker or store
# round trip; Prometheus scrapes every 15-30 s, so reading more often would show nothing).
REFRESH_INTERVAL_S = 15.0

_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_PROCESSED = Counter(
    "hemicycle_events_processed",
    "Input records handled by a stage: ok, or dead-lettered (invalid or failed after retries).",
    ["stage", "outcome"],
)
BATCH_SIZE = Histogram(
    "hemicycle_batch_size",
    "Input records per polled batch.",
    ["stage"],
    buckets=_BATCH_BUCKETS,
)
STAGE_LATENCY = Histogram(
    "hemicycle_stage_latency_seconds",
    "Time of one batch in the stage's process call, retries included.",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "hemicycle_consumer_lag",
    "Records not yet committed by the stage's consumer group, all input partitions summed "
    f"(read at most every {REFRESH_INTERVAL_S:g} s).",
    ["stage", "group"],
)
DEAD_LETTERS = Counter(
    "hemicycle_dead_letters",
    "Dead letters published by a stage.",
    ["stage", "error_type"],
)
UNDELIVERABLE = Counter(
    "hemicycle_undeliverable_records",
    "Records a stage could not publish because the bus refused them for what they are (a dead "
    "letter, or an output with no input to dead-letter): logged and skipped.",
    ["stage"],
)
OUTAGE_WAITS = Counter(
    "hemicycle_backend_outage_waits",
    "Waits of a stage for an unreachable store or bus; the batch is read again after each.",
    ["stage", "backend"],
)
QUEUE_ITEMS = Gauge(
    "hemicycle_queue_items",
    "Queue items per state, as the store counts them (reported by triage workers: every "
    "replica reports the same figure, aggregate with max).",
    ["state"],
)
QUEUE_OLDEST_NEEDS_REVIEW = Gauge(
    "hemicycle_queue_oldest_needs_review_age_seconds",
    "Age of the oldest needs_review item (since the contribution's created_at, the queue's "
    "'oldest' order); 0 when none waits.",
)
HTTP_LATENCY = Histogram(
    "hemicycle_http_request_duration_seconds",
    "Time to the response headers of an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=_HTTP_BUCKETS,
)
OK, DEADLETTER = "ok", "deadletter"
UNMATCHED_ROUTE = "<unmatched>"


class Every:
    """A rate limiter: :meth:`due` is true at most once per ``interval_s`` (first call: true)."""

    def __init__(self, interval_s: float = REFRESH_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._next = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval_s
        return True


class StageMetrics:
    """The metric children of one runner, bound once so a batch costs a few additions."""

    def __init__(self, stage: str, group: str, *, interval_s: float = REFRESH_INTERVAL_S) -> None:
        self.stage = stage
        self._ok = EVENTS_PROCESSED.labels(stage, OK)
        self._dead = EVENTS_PROCESSED.labels(stage, DEADLETTER)
        self._batch = BATCH_SIZE.labels(stage)
        self._latency = STAGE_LATENCY.labels(stage)
        self._lag = CONSUMER_LAG.labels(stage, group)
        self._undeliverable = UNDELIVERABLE.labels(stage)
        self.lag_refresh = Every(interval_s)

    def batch(self, records: int, dead_error_types: Iterable[str], process_s: float) -> None:
        """Account one batch of ``records`` inputs, of which one per dead letter failed."""
        dead = 0
        for error_type in dead_error_types:
            DEAD_LETTERS.labels(self.stage, error_type).inc()
            dead += 1
        self._ok.inc(records - dead)
        if dead:
            self._dead.inc(dead)
        self._batch.observe(records)
        self._latency.observe(process_s)

    def outage(self, backend: str) -> None:
        """Account one wait for an unreachable ``backend`` (``store`` or ``bus``)."""
        OUTAGE_WAITS.labels(self.stage, backend).inc()

    def undeliverable(self, records: int) -> None:
        """Account records the bus refused that nothing could carry (see the runner)."""
        if records:
            self._undeliverable.inc(records)

    def maybe_update_lag(self, read_lag: Callable[[], int]) -> None:
        """Read the lag when the refresh interval has passed; a failed reading is skipped."""
        if not self.lag_refresh.due():
            return
        try:
            self._lag.set(read_lag())
        except Exception as exc:  # a metric must never stop the worker; polls surface outages
            log.warning("consumer lag unavailable", extra={"stage": self.stage, "error": repr(exc)})


def update_queue_gauges(store: QueueStore, *, now: float | None = None) -> None:
    """Set the per-state item counts and the oldest ``needs_review`` age from ``store``."""
    counts = store.counts()
    for state in QUEUE_STATES:
        QUEUE_ITEMS.labels(state).set(counts.get(state, 0))
    oldest = store.list_items(state="needs_review", order="oldest", limit=1)
    age = 0.0
    if oldest:
        now = time.time() if now is None else now
        age = max(0.0, now - oldest[0].age_key().timestamp())
    QUEUE_OLDEST_NEEDS_REVIEW.set(age)


# --- The workers' HTTP server -------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    ready: Callable[[], bool]  # set on the subclass made per server

    def do_GET(self) -> None:  # http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._reply(200, b"ok\n")
        elif path == "/readyz":
            try:
                ready = bool(type(self).ready())
            except Exception as exc:  # a failing check means not ready, not a crash
                log.warning("readiness check failed", extra={"error": repr(exc)})
                ready = False
            self._reply(200, b"ready\n") if ready else self._reply(503, b"not ready\n")
        else:
            self._reply(404, b"not found\n")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: noise
        return


class WorkerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.shutdown()
        self.server_close()


def start_worker_http(
    port: int, ready: Callable[[], bool], *, host: str = "0.0.0.0"
) -> WorkerHTTPServer:
    """Serve ``/metrics``, ``/healthz`` (always 200) and ``/readyz`` (200 if ``ready()``, else
    503) on ``host:port`` from a daemon thread; port 0 picks a free one (see ``.port``)."""
    handler = type("WorkerHandler", (_Handler,), {"ready": staticmethod(ready)})
    try:
        server = WorkerHTTPServer((host, port), handler)
    except OSError as exc:  # e.g. two workers on one host given the same port
        raise OSError(
            exc.errno,
            f"cannot serve metrics on {host}:{port} (HEMICYCLE_METRICS_PORT): {exc.strerror}",
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    log.info("serving metrics and health", extra={"host": host, "port": server.port})
    return server


# --- The web app ------------------------------------------------------------------------


class MetricsMiddleware:
    """ASGI middleware timing each HTTP request into ``hemicycle_http_request_duration_seconds``.

    The ``route`` label is the route template (``/items/{cid:path}``), never the raw path, so
    the label set stays small; a mount is ``/static/{path}`` and an unmatched path
    ``<unmatched>``. The time is taken to the response headers, so a streamed response
    (server-sent events) counts its wait, not its lifetime.
    ``app.add_middleware(MetricsMiddleware)``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Routing rewrites root_path in place: keep what a second match would need.
        before = {key: scope.get(key, "") for key in ("type", "method", "path", "root_path")}
        status = 500
        observed = False

        def observe() -> None:
            nonlocal observed
            if not observed:
                observed = True
                route = route_template(scope, before)
                HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(
                    time.perf_counter() - started
                )

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                observe()
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            observe()  # an exception before any response: counted as 500


def route_template(scope: Scope, before: Scope | None = None) -> str:
    """The template of the route that handled ``scope`` (read after routing).

    Starlette's router and FastAPI's ``APIRoute`` record the route in ``scope["route"]``;
    FastAPI (0.13x+) leaves mounts and plain Starlette routes out, so those are found from the
    grown ``root_path`` (a mount) or by matching the app's top-level routes again against
    ``before``, the scope's routing keys as the request arrived.
    """
    root_path: str = scope.get("root_path", "")
    mount_prefix = root_path[len(scope.get("app_root_path", root_path)) :]
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        # Inside a mounted sub-application, the route's path is relative to the mount point.
        if mount_prefix and not path.startswith(mount_prefix):
            path = mount_prefix + path
        return path or "/"
    if mount_prefix:
        return mount_prefix + "/{path}"
    if before is not None:
        path = _match_top_level(scope.get("app"), before)
        if path is not None:
            return path
    endpoint = scope.get("endpoint")
    if endpoint is not None:  # matched somewhere we cannot name: bounded by the endpoints
        return "<" + getattr(endpoint, "__qualname__", type(endpoint).__name__) + ">"
    return UNMATCHED_ROUTE


def _match_top_level(app: Any, before: Scope) -> str | None:
    from starlette.routing import Match

    for route in getattr(app, "routes", ()):
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue  # e.g. FastAPI's included routers: their APIRoutes set scope["route"]
        match, _ = route.matches(dict(before))
        if match is Match.FULL:
            return path
    return None


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics`` for a Starlette/FastAPI app (``app.add_route("/metrics", ...)``)."""
    from starlette.responses import Response

    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
