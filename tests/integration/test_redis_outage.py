"""A Redis outage, with a real redis-server stopped and restarted on the same port.

The API answers 503 with ``Retry-After`` and, once Redis is known down, at once (no timeouts
waited out); ``/readyz`` says so; triage waits and retries instead of crash-looping, logs and
counts each wait, and catches up once Redis is back. Timings are printed, never asserted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from moderator_ui.app import create_app
from pipeline.api.apikeys import create_key
from pipeline.api.context import AppContext
from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.store import open_store
from pipeline.workers.runner import Runner
from pipeline.workers.triage import TriageStage
from tests.integration.conftest import REPO, base_env
from tests.services import free_port, wait_for_port
from tests.unit.test_outcome_crash import CID, publish, results


class RestartableRedis:
    """redis-server on a fixed loopback port that can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: apt-get install redis-server")
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    server = RestartableRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_settings(settings: Settings, redis: RestartableRedis) -> Settings:
    return settings.model_copy(update={"store": "redis", "redis_url": SecretStr(redis.url)})


def test_the_api_fails_fast_while_redis_is_known_down(
    redis_settings: Settings, redis: RestartableRedis
) -> None:
    context = AppContext(redis_settings)
    key = create_key(context.store, "decidim-test")
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(redis_settings, context=context)) as client:
        assert client.get("/readyz").status_code == 200
        redis.stop()
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/v1/contributions/c-1", headers=auth)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 503
            assert response.headers["Retry-After"]
        print(f"\n503 answers with Redis stopped: {', '.join(f'{t:.3f} s' for t in timings)}")
        # After the first failure the store is known down: no connection is even tried.
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert "known down" in not_ready.json()["checks"]["store"]["error"]

        redis.start()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "/readyz never recovered"
            time.sleep(0.1)
        # redis-server runs without persistence here: the restarted one has no keys.
        auth = {"Authorization": f"Bearer {create_key(context.store, 'decidim-test')}"}
        assert client.get("/v1/contributions/c-1", headers=auth).status_code == 404
    context.close()


def test_triage_waits_out_a_redis_outage_and_catches_up(
    redis_settings: Settings, redis: RestartableRedis
) -> None:
    settings = redis_settings
    runner = Runner(
        TriageStage.from_settings(settings, open_store(settings)),
        open_bus(settings),
        settings,
        metrics=True,
    )
    labels = {"stage": "triage", "backend": "store"}
    before = REGISTRY.get_sample_value("hemicycle_backend_outage_waits_total", labels) or 0.0
    redis.stop()
    publish(settings, results())
    for _ in range(3):
        assert runner.step_through_outages(0.5) == 0  # waits, never raises
    assert runner.stats.outage_waits == 3
    assert runner.lag() == 2  # nothing committed
    after = REGISTRY.get_sample_value("hemicycle_backend_outage_waits_total", labels)
    assert after == before + 3

    redis.start()
    deadline = time.monotonic() + 60
    while runner.lag():
        assert time.monotonic() < deadline, "triage never caught up"
        runner.step_through_outages(0.5)
    item = open_store(settings).get(CID)
    assert item is not None and item.state == "auto_hidden"
    runner.close()


def test_a_triage_process_started_while_redis_is_down_stays_up(
    redis_settings: Settings, redis: RestartableRedis
) -> None:
    publish(redis_settings, results())
    redis.stop()
    env = base_env(
        HEMICYCLE_DATA_DIR=str(redis_settings.data_dir),
        HEMICYCLE_PARTITIONS=str(redis_settings.partitions),
        HEMICYCLE_STORE="redis",
        HEMICYCLE_REDIS_URL=redis.url,
        HEMICYCLE_RETRY_BACKOFF_MS="50",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--worker", "triage"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        waits = 0
        for line in proc.stderr:
            if "store unavailable" in line:
                waits += 1
                if waits == 3:
                    break
        assert proc.poll() is None, "the worker exited while Redis was down"
        redis.start()
        deadline = time.monotonic() + 60
        store = open_store(redis_settings)
        while (item := store.get(CID)) is None:
            assert proc.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "triage never caught up"
            time.sleep(0.2)
        assert item.state == "auto_hidden"
    finally:
        proc.terminate()
        proc.wait(30)
    assert json.loads(line)["backend"] == "store"
