"""SIGTERM: a worker process finishes its batch, commits and exits 0; a restart resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.bus.base import total_lag
from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.schemas import ContributionSubmitted, LanguageIdentified, LanguageResult
from pipeline.store.embedded import EmbeddedStore
from tests.conftest import REPO, contribution

EVENTS = 6_000


def worker_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMICYCLE_")}
    env.update(
        HEMICYCLE_DATA_DIR=str(data_dir), HEMICYCLE_BATCH_MAX_EVENTS="25", HEMICYCLE_PARTITIONS="3"
    )
    return env


def test_sigterm_finishes_the_batch_commits_and_exits(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, partitions=3)
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    producer = bus.producer()
    language = LanguageResult(lang="en", confidence=0.99, reliable=True, method="test")
    for n in range(EVENTS):
        source = ContributionSubmitted(contribution=contribution(n))
        event = source.derive(
            LanguageIdentified,
            producer="test",
            contribution=source.contribution,
            language=language,
            detector="test",
        )
        producer.publish(settings.topic("identified"), event.contribution_id, event.to_json())
    producer.flush()

    command = [sys.executable, "-m", "pipeline.cli", "run", "--worker", "triage"]
    proc = subprocess.Popen(command, cwd=REPO, env=worker_env(tmp_path), stderr=subprocess.PIPE)
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    deadline = time.monotonic() + 60
    while sum(store.counts().values()) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b'"signal": "SIGTERM"' in err

    group, topics = "hemicycle.triage", [settings.topic("identified")]
    committed = EVENTS - total_lag(bus.lag(group, topics))
    applied = sum(store.counts().values())
    assert 0 < committed < EVENTS, "the worker should have been stopped mid-run"
    assert applied == committed  # whole batches: everything applied is committed, no more

    again = subprocess.run(
        [*command, "--until-idle"],
        cwd=REPO,
        env=worker_env(tmp_path),
        capture_output=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr.decode()
    assert sum(store.counts().values()) == EVENTS
    assert total_lag(bus.lag(group, topics)) == 0
