"""The bus contract: every implementation must pass these unchanged."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.bus.base import (
    MAX_RECORD_BYTES,
    Bus,
    BusConfigError,
    Consumer,
    Record,
    RecordsRefused,
    TopicPartition,
    total_lag,
)
from pipeline.bus.embedded import EmbeddedBus
from tests.conftest import REPO

PARTITIONS = 3


@pytest.fixture
def topic(bus_factory: Callable[[], Bus]) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}"
    bus_factory().ensure_topics([name], PARTITIONS)
    return name


def produce(bus: Bus, topic: str, n: int, keys: int = 5) -> list[tuple[str, int]]:
    producer = bus.producer()
    sent = []
    for i in range(n):
        key = f"k{i % keys}"
        producer.publish(topic, key, json.dumps({"key": key, "seq": i}).encode(), {"type": "T"})
        sent.append((key, i))
    producer.flush()
    producer.close()
    return sent


def drain(consumer: Consumer, expected: int, timeout_s: float = 30.0) -> list[Record]:
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < expected and time.monotonic() < deadline:
        got.extend(consumer.poll(500, 0.5))
    return got


def test_every_record_is_delivered_once_with_per_key_order(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    produce(bus, topic, 300)
    consumer = bus.consumer("g1", [topic])
    records = drain(consumer, 300)
    assert len(records) == 300
    seqs_by_key: dict[str, list[int]] = defaultdict(list)
    partition_of_key: dict[str, set[int]] = defaultdict(set)
    for record in records:
        value = json.loads(record.value)
        assert record.key == value["key"].encode()
        assert record.headers["type"] == "T"
        seqs_by_key[value["key"]].append(value["seq"])
        partition_of_key[value["key"]].add(record.partition)
    assert all(seqs == sorted(seqs) for seqs in seqs_by_key.values())
    assert all(len(parts) == 1 for parts in partition_of_key.values())
    assert consumer.poll(10, 0.2) == []
    consumer.close()


def test_committed_offsets_are_resumed_by_the_group(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    produce(bus, topic, 60)
    first = bus.consumer("g-resume", [topic])
    records = drain(first, 60)
    done = records[:20]
    offsets: dict[TopicPartition, int] = {}
    for record in done:
        offsets[record.tp] = max(offsets.get(record.tp, 0), record.offset + 1)
    first.commit(offsets)
    first.close()
    second = bus.consumer("g-resume", [topic])
    again = drain(second, 60 - len(done))
    seen = {(r.partition, r.offset) for r in again}
    committed = {(r.partition, r.offset) for r in done}
    assert len(again) == 60 - len(done)
    assert not seen & committed
    assert total_lag(bus.lag("g-resume", [topic])) == 60 - len(done)
    second.commit()
    assert total_lag(bus.lag("g-resume", [topic])) == 0
    second.close()


def test_uncommitted_records_are_redelivered(bus_factory: Callable[[], Bus], topic: str) -> None:
    bus = bus_factory()
    produce(bus, topic, 30)
    first = bus.consumer("g-redeliver", [topic])
    assert len(drain(first, 30)) == 30
    first.close()
    second = bus.consumer("g-redeliver", [topic])
    assert len(drain(second, 30)) == 30
    second.close()


def test_groups_are_independent(bus_factory: Callable[[], Bus], topic: str) -> None:
    bus = bus_factory()
    produce(bus, topic, 40)
    a, b = bus.consumer("ga", [topic]), bus.consumer("gb", [topic])
    assert len(drain(a, 40)) == 40
    assert len(drain(b, 40)) == 40
    a.commit()
    assert total_lag(bus.lag("ga", [topic])) == 0
    assert total_lag(bus.lag("gb", [topic])) == 40
    a.close()
    b.close()


def test_two_members_split_the_partitions(bus_factory: Callable[[], Bus], topic: str) -> None:
    """Members poll concurrently (as separate worker processes do) and share the partitions."""
    bus = bus_factory()
    produce(bus, topic, 90, keys=30)
    members = [bus.consumer("g-split", [topic]), bus_factory().consumer("g-split", [topic])]
    stop = threading.Event()

    def keep_polling(consumer: Consumer) -> None:
        while not stop.is_set():
            consumer.poll(10, 0.2)
            consumer.commit()

    threads = [threading.Thread(target=keep_polling, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            owned_a, owned_b = (m.assignment() for m in members)
            if (
                owned_a
                and owned_b
                and not owned_a & owned_b
                and len(owned_a | owned_b) == PARTITIONS
            ):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"partitions not split: {[m.assignment() for m in members]}")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    for member in members:
        member.close()


def test_a_member_stopped_while_joining_leaves_no_partitions_behind(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    """A worker told to stop while its first join is still in flight (a SIGTERM right after a
    restart) must not leave a member behind that holds partitions: the next one gets them all.
    (Tansu 0.6 keeps a member that leaves mid-join for good; the consumer lets the join end.)"""
    bus = bus_factory()
    produce(bus, topic, 30, keys=10)
    for attempt in range(3):
        leaver = bus_factory().consumer("g-leave", [topic])
        leaver.poll(10, 0.05 * attempt)
        leaver.close()
    member = bus.consumer("g-leave", [topic])
    records = drain(member, 30)
    assert len(member.assignment()) == PARTITIONS, member.assignment()
    assert len(records) == 30
    member.close()


def test_lag_counts_high_watermarks(bus_factory: Callable[[], Bus], topic: str) -> None:
    bus = bus_factory()
    assert total_lag(bus.lag("g-lag", [topic])) == 0
    produce(bus, topic, 25)
    lags = bus.lag("g-lag", [topic])
    assert {lag.partition for lag in lags} == set(range(PARTITIONS))
    assert sum(lag.high_watermark for lag in lags) == 25
    assert total_lag(lags) == 25
    assert bus.topic_counts()[topic] == 25


def test_flushed_records_are_visible(bus_factory: Callable[[], Bus], topic: str) -> None:
    """``flush`` makes what was published durable and readable. (Before it a record may be
    readable or not: Kafka's producer sends in the background, the embedded bus writes at
    ``flush``. Workers commit their inputs only after ``flush``, so nothing depends on it.)"""
    bus = bus_factory()
    consumer = bus.consumer("g-flush", [topic])
    consumer.join(12.0)
    producer = bus.producer()
    producer.publish(topic, "k", b"{}")
    producer.flush()
    assert [(r.key, r.value) for r in drain(consumer, 1)] == [(b"k", b"{}")]
    consumer.close()
    producer.close()


def test_embedded_records_are_written_at_flush(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics(["t"], 1)
    producer = bus.producer()
    producer.publish("t", "k", b"{}")
    consumer = bus.consumer("g", ["t"])
    assert consumer.poll(10, 0.2) == []
    producer.flush()
    assert len(drain(consumer, 1)) == 1
    consumer.close()
    producer.close()


def test_unknown_topic_is_a_config_error(bus_factory: Callable[[], Bus]) -> None:
    with pytest.raises(BusConfigError):
        bus_factory().consumer("g", ["no.such.topic"])


def test_ensure_topics_is_idempotent(bus_factory: Callable[[], Bus], topic: str) -> None:
    bus = bus_factory()
    bus.ensure_topics([topic], PARTITIONS)
    produce(bus, topic, 3)
    bus.ensure_topics([topic], PARTITIONS)
    assert bus.topic_counts()[topic] == 3


def test_records_polled_by_a_killed_process_are_redelivered(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    produce(bus, topic, 50)
    spec = dict(bus_factory.crash_spec, group="g-crash", topics=[topic])  # type: ignore[attr-defined]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.contract.crash_consumer", json.dumps(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        polled = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert polled, "the crashing consumer polled nothing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    survivor = bus.consumer("g-crash", [topic])
    records = drain(survivor, 50)
    assert {(r.partition, r.offset) for r in records} >= {tuple(p) for p in polled}
    assert len(records) == 50
    survivor.close()


def test_replay_streams_every_partition_in_offset_order(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    produce(bus, topic, 300, keys=30)
    replay = bus.replay([topic])
    assert replay.total == 300
    assert sum(replay.ends.values()) == 300
    records = list(replay)
    assert len(records) == 300
    offsets: dict[int, list[int]] = defaultdict(list)
    seqs_by_key: dict[str, list[int]] = defaultdict(list)
    for record in records:
        offsets[record.partition].append(record.offset)
        seqs_by_key[json.loads(record.value)["key"]].append(json.loads(record.value)["seq"])
    for partition, seen in offsets.items():
        assert seen == list(range(replay.ends[TopicPartition(topic, partition)]))
    assert all(seqs == sorted(seqs) for seqs in seqs_by_key.values())


def test_replay_stops_at_the_high_watermarks_read_at_its_start(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    produce(bus, topic, 40)
    replay = bus.replay([topic])
    produce(bus, topic, 25)  # published after the start: not part of this replay
    records = list(replay)
    assert replay.total == len(records) == 40
    assert {json.loads(r.value)["seq"] for r in records} == set(range(40))
    assert bus.replay([topic]).total == 65


def test_replay_of_several_topics_and_more_than_one_fetch(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    other = f"test.{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([other], 1)
    producer = bus.producer()
    filler = "x" * 1000
    for seq in range(3000):  # ~3 MB on one partition: several fetches, several chunks
        producer.publish(other, "one-key", json.dumps({"seq": seq, "f": filler}).encode())
    producer.flush()
    producer.close()
    produce(bus, topic, 10)
    empty = f"test.{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([empty], PARTITIONS)
    replay = bus.replay([other, topic, empty])
    assert replay.total == 3010
    seqs = [json.loads(r.value)["seq"] for r in replay if r.topic == other]
    assert seqs == list(range(3000))
    assert bus.replay([empty]).total == 0
    assert list(bus.replay([empty])) == []


def test_a_record_over_the_limit_is_refused_and_the_others_are_durable(
    bus_factory: Callable[[], Bus], topic: str
) -> None:
    bus = bus_factory()
    producer = bus.producer()
    producer.publish(topic, "a", b'{"n": 1}')
    producer.publish(topic, "b", b"x" * (MAX_RECORD_BYTES + 1))
    producer.publish(topic, "c", b'{"n": 3}')
    with pytest.raises(RecordsRefused) as refused:
        producer.flush()
    assert list(refused.value.refused) == [1]
    producer.publish(topic, "d", b'{"n": 4}')
    producer.flush()
    producer.close()
    assert sorted(r.key for r in bus.replay([topic])) == [b"a", b"c", b"d"]
