"""deploy/docker-compose.yml is valid Compose and wires every worker to Kafka and Redis."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from pipeline.workers import WORKER_NAMES
from tests.conftest import REPO

COMPOSE = REPO / "deploy" / "docker-compose.yml"


@pytest.fixture(scope="module")
def resolved() -> dict:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: run scripts/install-system-deps.sh")
    out = subprocess.run(
        [binary, "-f", str(COMPOSE), "--profile", "webhooks", "--profile", "tools", "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_kafka_runs_kraft_single_node_and_redis_persists_with_aof(resolved: dict) -> None:
    kafka = resolved["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    redis = resolved["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any("/data" in str(volume) for volume in redis["volumes"])


def test_one_service_per_worker_configured_by_environment(resolved: dict) -> None:
    services = resolved["services"]
    for worker in WORKER_NAMES:
        service = services[worker]
        assert service["command"] == ["run", "--worker", worker]
        env = service["environment"]
        assert env["HEMICYCLE_BUS"] == "kafka"
        assert env["HEMICYCLE_STORE"] == "redis"
        assert env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "deploy" not in service or "replicas" not in service["deploy"]  # scale with --scale
        assert service["stop_signal"] == "SIGTERM"
    assert "ui" in services
