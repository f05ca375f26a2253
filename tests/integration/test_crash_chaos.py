"""SIGKILL every worker kind at random points, again and again, while contributions stream in
(Kafka on Tansu + a real redis-server): nothing is lost, nothing is owed twice.

Every contribution lands in a pre-moderated space, so each one owes its platform exactly one
``hidden`` outcome. After ≥ 20 kills and a drain: every item is in the queue and hidden, every
item has exactly one outcome id on the outcomes topic (0 lost, 0 duplicates), one
identification each, and no dead letter.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from pipeline.ingest import ingest_file
from pipeline.schemas import LanguageIdentified, ModerationOutcome
from pipeline.workers.triage import auto_outcome_id
from tests.conftest import REPO
from tests.integration.conftest import hemicycle, sample_rows, start
from tests.integration.test_kafka_redis import open_bus, open_store, topic, wait_until
from tests.integration.test_rebuild import settings_of

WORKERS = ("langid", "translator", "scorer", "triage")
KILLS = 24
CHUNKS = 12
PER_CHUNK = 25


def chaos_policy(path: Path) -> Path:
    default = (REPO / "pipeline" / "data" / "policy.toml").read_text(encoding="utf-8")
    path.write_text(default.replace("spaces = []", 'spaces = ["chaos"]', 1), encoding="utf-8")
    return path


def log_tails(logs: dict[str, Path], lines: int = 15) -> str:
    """The end of every worker's log, for a failure message."""
    out = []
    for name, path in logs.items():
        text = (
            path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
        )
        out.append(f"--- {name} ---\n" + "\n".join(text[-lines:]))
    return "\n".join(out)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_random_sigkills_of_every_worker_lose_and_duplicate_nothing(
    kafka_redis_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(
        kafka_redis_env,
        HEMICYCLE_BATCH_MAX_EVENTS="20",
        HEMICYCLE_POLICY_FILE=str(chaos_policy(tmp_path / "policy.toml")),
    )
    rows = [r for r in sample_rows() if r["version"] == 1]
    ids: list[str] = []
    chunks: list[Path] = []
    for c in range(CHUNKS):
        path = tmp_path / f"chunk-{c}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for n in range(PER_CHUNK):
                k = c * PER_CHUNK + n
                row = dict(rows[k % len(rows)], id=f"chaos-{k}", space="chaos")
                row["body"] = f"{row['body']} [{k}]"
                ids.append(f"{row['platform']}:{row['id']}")
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        chunks.append(path)

    rng = random.Random(20261201)
    logs = {name: tmp_path / f"{name}.log" for name in WORKERS}
    running = {name: start(env, "run", "--worker", name, log=logs[name]) for name in WORKERS}
    kills: Counter[str] = Counter()
    began = time.monotonic()
    phases: list[str] = []

    def phase(what: str) -> None:
        phases.append(f"{time.monotonic() - began:7.1f} s  {what}")
        print(phases[-1], flush=True)

    # The platform's side submits in this process (what `hemicycle ingest` runs; its command is
    # tested in test_kafka_redis): the CPU goes to the workers being killed.
    settings = settings_of(env)
    submitter = open_bus(env)

    def submit(path: Path) -> None:
        report = ingest_file(path, submitter, settings, progress=False)
        assert (report.accepted, report.rejected) == (PER_CHUNK, []), report

    try:
        for k in range(KILLS):
            if k % 2 == 0 and chunks:
                submit(chunks.pop(0))
            time.sleep(rng.uniform(0.5, 2.5))
            name = rng.choice(WORKERS)
            running[name].send_signal(signal.SIGKILL)
            running[name].wait(30)
            kills[name] += 1
            running[name] = start(env, "run", "--worker", name, log=logs[name])
        for path in chunks:
            submit(path)
        store = open_store(env)
        wait_until(
            lambda: store.counts().get("auto_hidden", 0) == len(ids),
            300,
            "every contribution to be hidden after the kills",
        )
    finally:
        submitter.close()
        for process in running.values():
            process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    hemicycle(env, "run", "--until-idle", timeout=600)

    assert sum(kills.values()) >= 20 and set(kills) == set(WORKERS), kills
    items = list(store.iter_items())
    assert sorted(item.contribution_id for item in items) == sorted(ids)  # 0 lost items
    assert {item.state for item in items} == {"auto_hidden"}
    bus = open_bus(env)
    identified = [
        LanguageIdentified.model_validate_json(r.value) for r in bus.read(topic(env, "identified"))
    ]
    assert Counter(cid for cid, _ in {(e.contribution_id, e.event_id) for e in identified}) == (
        Counter(ids)
    )
    outcomes = [
        ModerationOutcome.model_validate_json(r.value) for r in bus.read(topic(env, "outcomes"))
    ]
    distinct = {(o.contribution_id, o.event_id, o.outcome) for o in outcomes}
    per_item = Counter(cid for cid, _, _ in distinct)
    assert set(per_item) == set(ids)  # 0 lost outcomes
    assert max(per_item.values()) == 1  # 0 duplicates: one outcome id per item
    assert {eid for _, eid, _ in distinct} == {auto_outcome_id(cid, 1, "hidden") for cid in ids}
    assert bus.read(topic(env, "deadletter")) == []
