"""Two scorer processes on Kafka (Tansu) + Redis build one cluster from a flood over all partitions.

Each process sees only the partitions it owns; the flood index lives in Redis, so the
near-duplicates of both halves meet in one cluster and every member hears its final id.
"""

from __future__ import annotations

import random
import signal
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.bus.base import total_lag
from pipeline.schemas import ContributionScored
from pipeline.store.scorer_state import ScorerLimits, member_key
from pipeline.store.scorer_state_redis import RedisScorerState
from tests.integration.conftest import log_lines, start
from tests.integration.test_kafka_redis import open_bus, open_store, topic, wait_until
from tests.unit.test_floods import BASES, FILLERS
from tests.unit.test_scoring_flow import identified

pytestmark = pytest.mark.slow

FLOOD = 200


def test_two_scorers_build_one_cluster_from_a_flood_over_all_partitions(
    kafka_redis_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(kafka_redis_env, HEMICYCLE_BATCH_MAX_EVENTS="10")
    bus = open_bus(env)
    logs = [tmp_path / "scorer-a.log", tmp_path / "scorer-b.log"]
    workers = [start(env, "run", "--worker", "scorer", log=log) for log in logs]
    rng = random.Random(0)
    events = [
        identified(
            1000 + n,
            f"{BASES[0]} {rng.choice(FILLERS)} {rng.choice(FILLERS)}",
            "en",
            author=f"account-{n % 40}",
        )
        for n in range(FLOOD)
    ]
    try:

        def both_assigned() -> bool:
            owned = []
            for log in logs:
                assigned = [
                    e["partitions"] for e in log_lines(log) if e.get("msg") == "partitions assigned"
                ]
                owned.append(set(assigned[-1]) if assigned else set())
            return all(owned) and not owned[0] & owned[1] and len(owned[0] | owned[1]) == 8

        wait_until(both_assigned, 90, "both scorers to own partitions")
        producer = bus.producer()
        for event in events:
            producer.publish(
                topic(env, "identified"), event.contribution_id, event.to_json(), event.headers()
            )
        producer.flush()
        group = f"{env['HEMICYCLE_TOPIC_PREFIX']}scorer"
        inputs = [topic(env, "identified"), topic(env, "translated")]
        wait_until(lambda: total_lag(bus.lag(group, inputs)) == 0, 180, "the scorers to catch up")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(60) == 0

    partitions = {r.partition for r in bus.read(topic(env, "identified"))}
    assert partitions == {0, 1, 2, 3}  # the flood is spread over every partition
    handled = []
    for log in logs:
        stats = [e["stats"]["scorer"] for e in log_lines(log) if e.get("msg") == "workers stopped"]
        handled.append(stats[-1]["events"])
    assert all(n > 0 for n in handled) and sum(handled) == FLOOD, handled

    store = open_store(env)
    state = RedisScorerState(store._redis, store.prefix + "scorer:", ScorerLimits())
    clusters = [
        key.decode().removeprefix(state.prefix + "c:")
        for key in store._redis.scan_iter(match=state.prefix + "c:*")
    ]
    assert len(clusters) == 1, clusters
    keys = {member_key(e.contribution_id, e.contribution_version) for e in events}
    assert set(state.members(clusters[0])) == keys

    told: dict[str, set[str | None]] = defaultdict(set)
    for record in bus.read(topic(env, "scored")):
        scored = ContributionScored.model_validate_json(record.value)
        told[scored.contribution_id].add(scored.cluster_id)
    assert {cid for cid, ids in told.items() if clusters[0] in ids} == {
        e.contribution_id for e in events
    }
