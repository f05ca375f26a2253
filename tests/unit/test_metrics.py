"""Prometheus metrics of the runner and the pipeline, and the workers' HTTP server (real HTTP)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import REGISTRY

from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.metrics import Every, MetricsMiddleware, metrics_endpoint, start_worker_http
from pipeline.schemas import ContributionSubmitted, LanguageIdentified, LanguageResult
from pipeline.schemas.envelope import Envelope
from pipeline.service import Pipeline
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Runner, Stage, StageError, StopFlag, run_until
from tests.conftest import contribution


class CountedStage(Stage):
    """Identifies everything as English; a body saying "permanent" can never be processed."""

    name: ClassVar[str] = "metrics_test"
    inputs: ClassVar[tuple[str, ...]] = ("submitted",)
    accepts: ClassVar[tuple[type, ...]] = (ContributionSubmitted,)

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> Stage:
        return cls()

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        if any("permanent" in event.contribution.body for event in events):
            raise StageError("cannot ever process this")
        return [identified_from(event) for event in events]


def identified_from(event: ContributionSubmitted) -> LanguageIdentified:
    return event.derive(
        LanguageIdentified,
        producer="test",
        contribution=event.contribution,
        language=LanguageResult(lang="en", confidence=1.0, reliable=True, method="test"),
        detector="test",
    )


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def submitted(n: int, **overrides: Any) -> bytes:
    return ContributionSubmitted(contribution=contribution(n, **overrides)).to_json()


def publish(bus: EmbeddedBus, topic: str, values: list[bytes]) -> None:
    producer = bus.producer()
    for i, value in enumerate(values):
        producer.publish(topic, f"k{i}", value)
    producer.flush()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bus(settings: Settings) -> Iterator[EmbeddedBus]:
    bus = EmbeddedBus(settings.data_dir / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    yield bus
    bus.close()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """Pipeline.run installs SIGTERM/SIGINT handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_runner_counts_events_batches_latency_dead_letters_and_lag(
    bus: EmbeddedBus, settings: Settings
) -> None:
    stage = CountedStage.name
    before = {
        "ok": sample("hemicycle_events_processed_total", stage=stage, outcome="ok"),
        "dead": sample("hemicycle_events_processed_total", stage=stage, outcome="deadletter"),
        "invalid": sample("hemicycle_dead_letters_total", stage=stage, error_type="invalid_event"),
        "failed": sample(
            "hemicycle_dead_letters_total", stage=stage, error_type="processing_failed"
        ),
        "batches": sample("hemicycle_batch_size_count", stage=stage),
        "records": sample("hemicycle_batch_size_sum", stage=stage),
        "latency": sample("hemicycle_stage_latency_seconds_count", stage=stage),
    }
    good = [submitted(n) for n in range(5)]
    publish(bus, settings.topic("submitted"), [*good, b"not json", submitted(9, body="permanent")])

    small_batches = Settings(data_dir=settings.data_dir, retry_backoff_ms=0, batch_max_events=2)
    runner = Runner(CountedStage(), bus, small_batches, metrics=True)
    assert runner.metrics is not None
    assert runner.step(1.0) == 2  # the first batch reads the lag after its commit
    group = f"{settings.topic_prefix}{stage}"
    assert sample("hemicycle_consumer_lag", stage=stage, group=group) == 5
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)

    assert sample("hemicycle_events_processed_total", stage=stage, outcome="ok") - before["ok"] == 5
    dead = sample("hemicycle_events_processed_total", stage=stage, outcome="deadletter")
    assert dead - before["dead"] == 2
    invalid = sample("hemicycle_dead_letters_total", stage=stage, error_type="invalid_event")
    assert invalid - before["invalid"] == 1
    failed = sample("hemicycle_dead_letters_total", stage=stage, error_type="processing_failed")
    assert failed - before["failed"] == 1
    assert sample("hemicycle_batch_size_count", stage=stage) > before["batches"]
    assert sample("hemicycle_batch_size_sum", stage=stage) - before["records"] == 7
    assert sample("hemicycle_stage_latency_seconds_count", stage=stage) > before["latency"]

    # Lag is re-read only once the refresh interval has passed: force it, it has drained.
    runner.metrics.lag_refresh = Every(0)
    runner.step(0.01)
    assert sample("hemicycle_consumer_lag", stage=stage, group=group) == 0
    runner.close()


def test_without_metrics_the_runner_measures_nothing(bus: EmbeddedBus, settings: Settings) -> None:
    class Unmeasured(CountedStage):
        name: ClassVar[str] = "metrics_off"

    publish(bus, settings.topic("submitted"), [submitted(n) for n in range(3)])
    runner = Runner(Unmeasured(), bus, settings)
    assert runner.metrics is None
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)
    assert runner.stats.events == 3
    assert (
        REGISTRY.get_sample_value(
            "hemicycle_events_processed_total", {"stage": "metrics_off", "outcome": "ok"}
        )
        is None
    )
    runner.close()


def test_lag_is_read_at_most_once_per_interval() -> None:
    every = Every(3600)
    assert every.due()
    assert not every.due()
    assert Every(0).due() and Every(0).due()


def test_worker_http_serves_metrics_health_and_readiness() -> None:
    state = {"ready": False}
    server = start_worker_http(0, lambda: state["ready"], host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, timeout=5) as client:
            health = client.get("/healthz")
            assert (health.status_code, health.text.strip()) == (200, "ok")
            assert client.get("/readyz").status_code == 503
            state["ready"] = True
            assert client.get("/readyz").status_code == 200
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain")
            assert "# TYPE hemicycle_events_processed_total counter" in metrics.text
            assert "hemicycle_stage_latency_seconds" in metrics.text
            assert client.get("/nope").status_code == 404
    finally:
        server.stop()


def test_a_port_in_use_is_a_clear_error() -> None:
    server = start_worker_http(0, lambda: True, host="127.0.0.1")
    try:
        with pytest.raises(OSError, match="HEMICYCLE_METRICS_PORT"):
            start_worker_http(server.port, lambda: True, host="127.0.0.1")
    finally:
        server.stop()


def test_a_failing_readiness_check_is_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("store down")

    server = start_worker_http(0, broken, host="127.0.0.1")
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5)
        assert response.status_code == 503
    finally:
        server.stop()


def test_pipeline_serves_readiness_and_queue_gauges_when_metrics_port_is_set(
    settings: Settings, keep_signal_handlers: None
) -> None:
    port = free_port()
    configured = Settings(
        data_dir=settings.data_dir,
        partitions=settings.partitions,
        retry_backoff_ms=0,
        metrics_port=port,
        triage_wait_for_scores=False,
    )
    with Pipeline(configured, ["triage"]) as pipeline:
        producer = pipeline.bus.producer()
        for n in range(3):
            created = f"2020-01-01T00:0{n}:00+00:00"  # long past, whatever the clock says
            submitted_event = ContributionSubmitted(
                contribution=contribution(n, created_at=created)
            )
            event = identified_from(submitted_event)
            producer.publish(configured.topic("identified"), event.contribution_id, event.to_json())
        producer.flush()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503  # not polling yet
            pipeline.run(until_idle=True)
            assert client.get("/readyz").status_code == 200
            text = client.get("/metrics").text
        assert 'hemicycle_events_processed_total{outcome="ok",stage="triage"}' in text
    assert sample("hemicycle_queue_items", state="needs_review") == 3
    assert sample("hemicycle_queue_items", state="approved") == 0
    assert sample("hemicycle_queue_oldest_needs_review_age_seconds") > 86_400
    with pytest.raises(httpx.TransportError):  # closing the pipeline released the port
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def labels(method: str, route: str, status: str) -> dict[str, str]:
    return {"method": method, "route": route, "status": status}


def http_count(route: str, status: str) -> float:
    return sample("hemicycle_http_request_duration_seconds_count", **labels("GET", route, status))


def test_http_middleware_labels_requests_by_route_template(tmp_path: Path) -> None:
    app = FastAPI()
    app.add_middleware(MetricsMiddleware)
    app.add_route("/metrics", metrics_endpoint)
    (tmp_path / "app.css").write_text("body {}")
    app.mount("/static", StaticFiles(directory=tmp_path), name="static")

    @app.middleware("http")  # as the real app does: the route must still reach our label
    async def passthrough(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return await call_next(request)

    @app.get("/items/{cid:path}")
    def item(cid: str) -> dict[str, str]:
        return {"cid": cid}

    api = APIRouter(prefix="/api/v1")

    @api.post("/contributions/{platform}")
    def ingest(platform: str) -> dict[str, str]:
        return {"platform": platform}

    app.include_router(api)
    expected = {
        ("/items/{cid:path}", "200"): 2,
        ("<unmatched>", "404"): 1,
        ("/static/{path}", "200"): 1,
        ("/metrics", "200"): 1,
    }
    before = {key: http_count(*key) for key in expected}

    async def calls() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/items/decidim:1")).status_code == 200
            assert (await client.get("/items/decidim:2")).status_code == 200
            assert (await client.get("/no/such/page")).status_code == 404
            assert (await client.get("/static/app.css")).status_code == 200
            assert (await client.post("/api/v1/contributions/decidim")).status_code == 200
            return await client.get("/metrics")

    posted = ("POST", "/api/v1/contributions/{platform}", "200")
    posts_before = sample("hemicycle_http_request_duration_seconds_count", **labels(*posted))
    metrics = asyncio.run(calls())
    assert {key: http_count(*key) - before[key] for key in expected} == expected
    posts = sample("hemicycle_http_request_duration_seconds_count", **labels(*posted))
    assert posts - posts_before == 1
    assert metrics.status_code == 200
    assert "decidim:1" not in metrics.text  # raw paths never become labels
