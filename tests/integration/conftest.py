"""Fixtures for end-to-end runs of the ``hemicycle`` command on Kafka (Tansu) and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.services import RedisServer, Tansu

SAMPLE = REPO / "pipeline" / "data" / "sample_contributions.jsonl"


#: Settings for a test that checks which languages the pipeline found (see :func:`base_env`).
WITH_LINGUA = {"HEMICYCLE_LANGID_SECOND_OPINION": "true"}


def base_env(**settings: str) -> dict[str, str]:
    """The environment of a ``hemicycle`` subprocess: this process's, without its
    ``HEMICYCLE_*`` settings, plus ``settings``.

    Two defaults differ from the product's, and a test opts back in:

    * installed Apertium pairs would translate every test's contributions
      (``HEMICYCLE_TRANSLATION_ENGINES``);
    * lingua's second opinion is off unless a test checks languages (``**WITH_LINGUA``, or
      ``@pytest.mark.languages`` for the env fixtures below).
      lingua loads a language's models the first time a process meets it, 0.3 to 0.5 s of CPU
      each, and the delivery tests start dozens of worker processes that would each pay it
      for languages they never look at.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMICYCLE_")}
    env["HEMICYCLE_TRANSLATION_ENGINES"] = "argos,transformers"
    env["HEMICYCLE_LANGID_SECOND_OPINION"] = "false"
    env.update(settings)
    return env


def _languages(request: pytest.FixtureRequest) -> dict[str, str]:
    return WITH_LINGUA if request.node.get_closest_marker("languages") else {}


@pytest.fixture
def kafka_redis_env(
    tansu: Tansu, redis_server: RedisServer, tmp_path: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    """Environment for a pipeline on the shared broker and Redis, isolated by prefixes."""
    run = uuid.uuid4().hex[:8]
    return base_env(
        **_languages(request),
        HEMICYCLE_BUS="kafka",
        HEMICYCLE_STORE="redis",
        HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS=tansu.bootstrap,
        HEMICYCLE_REDIS_URL=redis_server.url,
        HEMICYCLE_TOPIC_PREFIX=f"t{run}.",
        HEMICYCLE_REDIS_KEY_PREFIX=f"t{run}:",
        HEMICYCLE_PARTITIONS="4",
        HEMICYCLE_KAFKA_SESSION_TIMEOUT_MS="6000",
        HEMICYCLE_KAFKA_HEARTBEAT_INTERVAL_MS="1000",
        HEMICYCLE_DATA_DIR=str(tmp_path / "data"),
        HEMICYCLE_RETRY_BACKOFF_MS="0",
    )


@pytest.fixture
def embedded_env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return base_env(
        **_languages(request), HEMICYCLE_DATA_DIR=str(tmp_path / "data"), HEMICYCLE_PARTITIONS="3"
    )


def hemicycle(
    env: dict[str, str],
    *args: str,
    timeout: float = 300,
    input: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (``python -m pipeline.cli`` is the console script)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"hemicycle {' '.join(args)} ran past {timeout} s:\n{(err or '')[-6000:]}")
    if check:
        assert proc.returncode == 0, f"hemicycle {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=REPO,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def sample_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line]


def write_contributions(path: Path, count: int) -> list[str]:
    """``count`` distinct contributions cycling through the bundled multilingual sample."""
    rows = [row for row in sample_rows() if row["version"] == 1]
    ids = []
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            row = dict(rows[n % len(rows)], id=f"bulk-{n}")
            ids.append(f"{row['platform']}:{row['id']}")
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return ids


def log_lines(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
