"""SIGKILL of every worker mid-run on Kafka (Tansu) and Redis: a rerun loses nothing and
duplicates nothing. (A module of its own: pytest-xdist runs it beside the other Kafka tests.)"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from pipeline.schemas import LanguageIdentified, ModerationOutcome
from tests.integration.conftest import hemicycle, start, write_contributions
from tests.integration.test_kafka_redis import open_bus, open_store, topic, wait_until


def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(
    kafka_redis_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(kafka_redis_env, HEMICYCLE_BATCH_MAX_EVENTS="50")
    source = tmp_path / "in.jsonl"
    ids = write_contributions(source, 3000)
    hemicycle(env, "ingest", str(source))
    store = open_store(env)

    workers = [
        start(env, "run", "--worker", name, log=tmp_path / f"{name}.log")
        for name in ("langid", "scorer", "triage")
    ]
    try:
        wait_until(lambda: sum(store.counts().values()) >= 300, 300, "the first items")
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        killed_at = sum(store.counts().values())
        assert killed_at < 3000, "the run finished before the kill: make it longer"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    hemicycle(env, "run", "--until-idle", timeout=600)

    items = list(store.iter_items())
    assert sorted(item.contribution_id for item in items) == sorted(ids)
    assert all(item.scored and item.state != "pending" for item in items)
    bus = open_bus(env)
    identified = [
        LanguageIdentified.model_validate_json(r.value) for r in bus.read(topic(env, "identified"))
    ]
    distinct = {(o.contribution_id, o.event_id) for o in identified}
    assert Counter(cid for cid, _ in distinct) == Counter(ids)  # one identification each
    outcomes = [
        ModerationOutcome.model_validate_json(r.value) for r in bus.read(topic(env, "outcomes"))
    ]
    per_item = Counter(cid for cid, _ in {(o.contribution_id, o.event_id) for o in outcomes})
    assert per_item and max(per_item.values()) == 1, "an outcome was emitted twice"
    decided = {i.contribution_id for i in items if i.state in {"auto_hidden", "auto_approved"}}
    assert set(per_item) == decided
