"""Several consumer groups in one process (a worker running its stages) each join once.

kafka-python 3.0 drops a JoinGroup answer that arrives while no poll waits for it and sends
another JoinGroup, which is a new rebalance. A process polling its runners for a few
milliseconds each in turn used to rejoin every group several times (10 to 80 s before its
partitions came). The adapter waits for a pending join instead, and ``join`` joins a
process's groups together before the first poll.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.bus.kafka import KafkaBus, KafkaConsumerAdapter
from tests.services import Tansu

GROUP_TOPICS = {"a": [0], "b": [1, 2], "c": [1, 2], "d": list(range(1, 8))}


def joins(caplog: pytest.LogCaptureFixture) -> Counter[str]:
    """How many times each group completed a JoinGroup (kafka-python logs each)."""
    done: Counter[str] = Counter()
    for record in caplog.records:
        message = record.getMessage()
        if record.name == "kafka.coordinator" and message.startswith("Successfully joined group"):
            done[message.split()[3]] += 1
    return done


@pytest.fixture
def held(
    tansu: Tansu, caplog: pytest.LogCaptureFixture
) -> Iterator[dict[str, KafkaConsumerAdapter]]:
    """Four consumers in four groups of one process, subscribed but not polled yet."""
    caplog.set_level(logging.INFO, logger="kafka.coordinator")
    bus = KafkaBus(tansu.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    prefix = f"g{uuid.uuid4().hex[:8]}."
    topics = [f"{prefix}t{n}" for n in range(8)]
    bus.ensure_topics(topics, 4)
    consumers = {
        prefix + group: bus.consumer(prefix + group, [topics[n] for n in wanted])
        for group, wanted in GROUP_TOPICS.items()
    }
    yield consumers
    for consumer in consumers.values():
        consumer.close()
    bus.close()


@pytest.mark.slow
def test_groups_polled_in_turn_each_join_once(
    held: dict[str, KafkaConsumerAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(400):
        for consumer in held.values():
            consumer.poll(100, 0.005)  # what a worker process does with its runners
        if all(c.assignment() for c in held.values()):
            break
    assert all(c.assignment() for c in held.values())
    assert joins(caplog) == dict.fromkeys(held, 1)


@pytest.mark.slow
def test_join_gives_every_group_its_partitions_before_the_first_poll(
    held: dict[str, KafkaConsumerAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    with ThreadPoolExecutor(len(held)) as pool:
        list(pool.map(lambda c: c.join(12.0), held.values()))
    assert {g: len(c.assignment()) for g, c in held.items()} == {
        g: 4 * len(GROUP_TOPICS[g.split(".", 1)[1]]) for g in held
    }
    assert joins(caplog) == dict.fromkeys(held, 1)
