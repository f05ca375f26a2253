"""The Kafka bus (kafka-python): the production transport.

* Producer: ``acks=all``, idempotence, zstd by default (any Kafka codec: gzip, snappy, lz4,
  zstd, none), key = contribution id; :meth:`flush` raises if any record was not
  acknowledged: :class:`RecordsRefused` for records refused for what they are (too large,
  invalid), :class:`BusUnavailable` for anything else. Consumers read every codec, and
  records over the fetch limits (``max_partition_fetch_bytes``, 1 MiB): a broker answers a
  fetch with at least its first batch whole (KIP-74; Tansu too, tested with 20 MB records).
* Replay streams partitions up to the high watermarks read at its start, without a time cap.
* Consumers: groups with manual commit only; on partition revocation the offsets handed out
  before the current poll are committed (the runner has processed and flushed them by then).
* Lag and counts use the high watermark reported by fetch responses (``highwater()``), never
  ``end_offsets()``, which some Kafka-protocol brokers answer wrongly.
* Wire format: JSON value, UTF-8 key, headers ``type``, ``schema_version``, ``event_id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTP
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.errors import (
    CommitFailedError,
    InvalidRecordError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)
from kafka.structs import OffsetAndMetadata

from pipeline.bus.base import (
    MAX_RECORD_BYTES,
    Bus,
    BusConfigError,
    BusError,
    BusUnavailable,
    Consumer,
    PartitionLag,
    Producer,
    Record,
    RecordsRefused,
    Replay,
    TopicPartition,
    as_key,
)
from pipeline.logs import get_logger

log = get_logger("kafka")

_TOPIC_EXISTS = 36
COMPRESSION_TYPES = ("gzip", "snappy", "lz4", "zstd", "none")
# Errors about one record itself: sending it again can never succeed.
_RECORD_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError)


T = TypeVar("T")


def _kafka_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except KafkaError as exc:
        raise _bus_error(what, exc) from exc


def _bus_error(what: str, exc: KafkaError) -> BusError:
    if isinstance(exc, KafkaTimeoutError):
        return BusUnavailable(f"{what}: Kafka unreachable or slow ({exc})")
    if getattr(exc, "retriable", False):
        return BusUnavailable(f"{what}: {exc!r}")
    return BusError(f"{what}: {exc!r}")


class KafkaBus(Bus):
    replay_stall_s = 30.0  # a replay fetching nothing this long checks the broker is still there

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        replication_factor: int = 1,
        bootstrap_timeout_ms: int = 30_000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        max_poll_interval_ms: int = 300_000,
        client_id: str = "hemicycle",
        security: Mapping[str, Any] | None = None,
        compression_type: str = "zstd",
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        if compression_type not in COMPRESSION_TYPES:
            raise BusConfigError(f"unknown Kafka compression {compression_type!r}")
        self.bootstrap_servers = bootstrap_servers
        self.replication_factor = replication_factor
        self.compression_type = compression_type
        self.max_record_bytes = max_record_bytes
        self.common: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in bootstrap_servers.split(",") if s.strip()],
            "client_id": client_id,
            "bootstrap_timeout_ms": bootstrap_timeout_ms,
            **(security or {}),
        }
        self.consumer_config: dict[str, Any] = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_interval_ms": max_poll_interval_ms,
        }
        self._admin: KafkaAdminClient | None = None
        self._reader: KafkaConsumer | None = None

    @property
    def admin(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = _kafka_call("connect admin", KafkaAdminClient, **self.common)
        return self._admin

    def ensure_topics(self, topics: Iterable[str], partitions: int) -> None:
        wanted = list(dict.fromkeys(topics))
        existing = set(_kafka_call("list topics", self.admin.list_topics))
        missing = [t for t in wanted if t not in existing]
        if missing:
            result = _kafka_call(
                "create topics",
                self.admin.create_topics,
                [NewTopic(t, partitions, self.replication_factor) for t in missing],
                raise_errors=False,
            )
            for topic in result.get("topics", []) if isinstance(result, dict) else []:
                code = topic.get("error_code", 0)
                if code not in (0, _TOPIC_EXISTS):
                    raise BusConfigError(
                        f"cannot create topic {topic.get('name')}: {topic.get('error_message')}"
                    )
            log.info("created topics", extra={"topics": missing, "partitions": partitions})
        self._wait_for_metadata(wanted)

    def _wait_for_metadata(self, topics: Sequence[str], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        reader = self.reader
        while time.monotonic() < deadline:
            known = _kafka_call("list topics", reader.topics)
            if all(t in known and reader.partitions_for_topic(t) for t in topics):
                return
            time.sleep(0.1)
        raise BusUnavailable(f"topics not visible after {timeout_s:.0f} s: {', '.join(topics)}")

    @property
    def reader(self) -> KafkaConsumer:
        """A group-less consumer kept for metadata look-ups."""
        if self._reader is None:
            self._reader = self._fresh_reader()
        return self._reader

    def _fresh_reader(self) -> KafkaConsumer:
        """A new group-less consumer: no fetch state from earlier calls (cheap, ~10 ms)."""
        return _kafka_call(
            "connect reader",
            KafkaConsumer,
            enable_auto_commit=False,
            fetch_max_wait_ms=10,  # empty partitions answer at once: lag checks stay fast
            **self.common,
        )

    def partitions_of(self, topic: str) -> list[int]:
        parts = self.reader.partitions_for_topic(topic)
        if parts is None:
            _kafka_call("metadata", self.reader.topics)
            parts = self.reader.partitions_for_topic(topic)
        return sorted(parts or ())

    def producer(self) -> KafkaProducerAdapter:
        return KafkaProducerAdapter(
            self.common,
            compression_type=self.compression_type,
            max_record_bytes=self.max_record_bytes,
        )

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaConsumerAdapter:
        missing = [t for t in topics if not self.partitions_of(t)]
        if missing:
            raise BusConfigError(f"unknown topic(s): {', '.join(missing)}")
        return KafkaConsumerAdapter(group, topics, {**self.common, **self.consumer_config})

    def high_watermarks(self, topics: Sequence[str], timeout_s: float = 10.0) -> dict[KafkaTP, int]:
        """High watermark of every partition, as reported by a fetch from its leader."""
        tps = [KafkaTP(t, p) for t in topics for p in self.partitions_of(t)]
        if not tps:
            return {}
        reader = self._fresh_reader()
        try:
            reader.assign(tps)
            for tp in tps:
                reader.seek(tp, 0)
            deadline = time.monotonic() + timeout_s
            marks: dict[KafkaTP, int] = {}
            while time.monotonic() < deadline:
                _kafka_call(
                    "fetch", reader.poll, timeout_ms=20, max_records=1, update_offsets=False
                )
                marks = {tp: hw for tp in tps if (hw := reader.highwater(tp)) is not None}
                if len(marks) == len(tps):
                    return marks
        finally:
            reader.close()
        raise BusUnavailable(f"no high watermark for {sorted(set(tps) - set(marks))}")

    def topic_counts(self, topics: Sequence[str] | None = None) -> dict[str, int]:
        names = (
            list(topics)
            if topics is not None
            else [
                t for t in _kafka_call("list topics", self.reader.topics) if not t.startswith("__")
            ]
        )
        counts = dict.fromkeys(names, 0)
        for tp, mark in self.high_watermarks(names).items():
            counts[tp.topic] += mark
        return counts

    def lag(self, group: str, topics: Sequence[str]) -> list[PartitionLag]:
        marks = self.high_watermarks(topics)
        committed = _kafka_call("list group offsets", self.admin.list_group_offsets, group)
        offsets = committed.get(group, committed) if isinstance(committed, dict) else {}
        out = []
        for tp, mark in sorted(marks.items()):
            meta = offsets.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            out.append(PartitionLag(tp.topic, tp.partition, done, mark))
        return out

    def read(
        self, topic: str, *, from_start: bool = True, limit: int | None = None
    ) -> list[Record]:
        out = list(self.replay([topic]))
        out.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
        return out[:limit] if limit is not None else out

    def replay(self, topics: Sequence[str]) -> Replay:
        names = list(dict.fromkeys(topics))
        missing = [t for t in names if not self.partitions_of(t)]
        if missing:
            raise BusConfigError(f"unknown topic(s): {', '.join(missing)}")
        highs = self.high_watermarks(names)
        reader = self._fresh_reader()
        try:
            starts = _kafka_call("log start offsets", reader.beginning_offsets, list(highs))
        except BaseException:
            reader.close()
            raise
        spans = {tp: (starts.get(tp, 0), high) for tp, high in highs.items()}
        total = sum(max(0, high - start) for start, high in spans.values())
        ends = {TopicPartition(tp.topic, tp.partition): high for tp, high in highs.items()}
        return Replay(total, ends, self._stream(reader, spans))

    def _stream(
        self, reader: KafkaConsumer, spans: Mapping[KafkaTP, tuple[int, int]]
    ) -> Iterator[Record]:
        """Fetch every partition from its start to its end; a partition that reached its end
        is paused, so the consumer holds at most one fetch per partition in memory."""
        try:
            todo = {tp: high for tp, (start, high) in spans.items() if high > start}
            if not todo:
                return
            reader.assign(list(todo))
            for tp in todo:
                reader.seek(tp, spans[tp][0])
            last_progress = time.monotonic()
            while todo:
                batch = _kafka_call("replay", reader.poll, timeout_ms=500, max_records=500)
                for tp, records in batch.items():
                    high = todo.get(tp)
                    if high is None:
                        continue
                    for r in records:
                        if r.offset < high:
                            yield _record(r)
                # position() waits for the fetched position: an int here, whatever its stub says
                done = [tp for tp, high in todo.items() if cast(int, reader.position(tp)) >= high]
                for tp in done:
                    del todo[tp]
                    reader.pause(tp)
                if batch:
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > self.replay_stall_s:
                    # Slow is fine, gone is not: BusUnavailable if no leader answers now.
                    self.high_watermarks([tp.topic for tp in todo])
                    last_progress = time.monotonic()
        finally:
            reader.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._admin is not None:
            self._admin.close()


def _record(r: Any) -> Record:
    headers = {
        k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
        for k, v in r.headers or []
    }
    return Record(r.topic, r.partition, r.offset, r.key, r.value or b"", headers, r.timestamp)


def _wire(offsets: Mapping[TopicPartition, int]) -> dict[KafkaTP, OffsetAndMetadata]:
    return {
        KafkaTP(tp.topic, tp.partition): OffsetAndMetadata(off, None, -1)  # type: ignore[arg-type]  # no metadata: None
        for tp, off in offsets.items()
    }


class KafkaProducerAdapter(Producer):
    def __init__(
        self,
        common: Mapping[str, Any],
        *,
        compression_type: str = "zstd",
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self._producer = _kafka_call(
            "connect producer",
            KafkaProducer,
            acks="all",
            enable_idempotence=True,
            compression_type=None if compression_type == "none" else compression_type,
            linger_ms=5,
            batch_size=256 * 1024,
            max_request_size=max_record_bytes,
            **common,
        )
        self._futures: list[tuple[int, Any]] = []  # (position since the last flush, future)
        self._refused: dict[int, str] = {}
        self._published = 0

    def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        position, self._published = self._published, self._published + 1
        wire_headers = [(k, v.encode()) for k, v in (headers or {}).items()]
        try:
            future = self._producer.send(topic, key=as_key(key), value=value, headers=wire_headers)
        except _RECORD_ERRORS as exc:  # kafka-python checks the size before queueing
            self._refused[position] = f"{type(exc).__name__}: {exc}"
            return
        except KafkaError as exc:
            raise _bus_error("send", exc) from exc
        self._futures.append((position, future))

    def flush(self) -> None:
        _kafka_call("flush", self._producer.flush)
        futures, self._futures = self._futures, []
        refused, self._refused, self._published = self._refused, {}, 0
        lost = []
        for position, future in futures:
            if not future.failed():
                continue
            if isinstance(future.exception, _RECORD_ERRORS):  # the broker's own limits
                refused[position] = f"{type(future.exception).__name__}: {future.exception}"
            else:
                lost.append(future.exception)
        if lost:
            raise BusUnavailable(f"{len(lost)} record(s) not acknowledged: {lost[0]!r}")
        if refused:
            raise RecordsRefused(refused)

    def close(self) -> None:
        self.flush()
        self._producer.close()


class _CommitOnRevoke(AsyncConsumerRebalanceListener):
    """Runs on kafka-python's IO loop, so it must await the coordinator's async commit."""

    def __init__(self, consumer: KafkaConsumerAdapter) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        offsets = self.consumer.take_revoked(
            {TopicPartition(tp.topic, tp.partition) for tp in revoked}
        )
        if not offsets:
            return
        coordinator = cast(Any, self.consumer._consumer)._coordinator  # no public async commit
        try:
            await coordinator._commit_offsets_sync_async(_wire(offsets))
        except Exception as exc:  # the new owner re-processes; idempotent handlers absorb it
            log.warning(
                "commit on revocation failed",
                extra={"group": self.consumer.group, "error": repr(exc)},
            )

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info(
            "partitions assigned",
            extra={
                "group": self.consumer.group,
                "partitions": sorted(f"{t.topic}/{t.partition}" for t in assigned),
            },
        )


class KafkaConsumerAdapter(Consumer):
    def __init__(self, group: str, topics: Sequence[str], config: Mapping[str, Any]) -> None:
        self.group = group
        self._consumer = _kafka_call(
            "connect consumer",
            KafkaConsumer,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **config,
        )
        # kafka-python 3 takes an async listener; its stubs know only the sync kind
        self._consumer.subscribe(list(topics), listener=_CommitOnRevoke(self))  # type: ignore[arg-type]
        self._handed_out: dict[TopicPartition, int] = {}

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if not self._join_if_needed(timeout_s, patient=False):
            return []
        batch = _kafka_call(
            "poll", self._consumer.poll, timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        out = [_record(r) for records in batch.values() for r in records]
        for record in out:
            self._handed_out[record.tp] = record.offset + 1
        return out

    def take_revoked(self, revoked: set[TopicPartition]) -> dict[TopicPartition, int]:
        """Offsets handed out on partitions being taken away (processed by now: see poll)."""
        return {tp: self._handed_out.pop(tp) for tp in revoked if tp in self._handed_out}

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        chosen = dict(self._handed_out if offsets is None else offsets)
        if not chosen:
            return
        wire = {
            KafkaTP(tp.topic, tp.partition): OffsetAndMetadata(off, None, -1)  # type: ignore[arg-type]  # no metadata: None
            for tp, off in chosen.items()
        }
        try:
            _kafka_call("commit", self._consumer.commit, wire)
        except BusError as exc:
            if isinstance(exc.__cause__, CommitFailedError):
                # The group rebalanced: the new owner will process these again (idempotent).
                log.warning("commit refused after a rebalance", extra={"group": self.group})
                return
            raise

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def close(self) -> None:
        self._handed_out.clear()  # leaving is not processing: revocation must commit nothing
        self._finish_pending_join()
        self._consumer.close(autocommit=False)

    def join(self, timeout_s: float) -> None:
        self._join_if_needed(timeout_s, patient=True)

    def _join_if_needed(self, timeout_s: float, *, patient: bool) -> bool:
        """A member that must (re)join the group waits here for the join to end, up to the
        session timeout, instead of in short polls.

        kafka-python 3.0 runs the JoinGroup/SyncGroup exchange as a task that a poll awaits;
        when the task ends while no poll is waiting (a worker process polls each of its
        runners for a few milliseconds in turn), the next poll drops the finished join and
        sends a new JoinGroup, which is another rebalance. Each costs the broker's join delay
        (half the session timeout on Tansu, ``group.initial.rebalance.delay.ms`` on Kafka), so
        a process with four groups took 10 to 80 s to get its partitions, at random. Waiting
        for the join keeps every group to one rebalance, and :meth:`join` from one thread per
        group (each consumer has its own IO thread) joins them all in one join delay.

        A poll waits that long only while the group coordinator is known. Until it is (at
        start, or with the broker unreachable) a poll only looks for it, for ``timeout_s``, and
        returns False: polling then would start a join that no one waits for, and a stop
        request is still seen promptly. ``patient`` (:meth:`join`) waits ``timeout_s`` for the
        coordinator and the join together. Returns whether a poll may fetch now.
        """
        coordinator = getattr(self._consumer, "_coordinator", None)  # no public join state
        if coordinator is None or not coordinator.need_rejoin():
            return True
        wait_ms = int(timeout_s * 1000)
        if not patient and coordinator.coordinator_unknown():
            find = coordinator.ensure_coordinator_ready
            _kafka_call("find the group coordinator", find, timeout_ms=wait_ms)
            return False
        if not patient:
            wait_ms = max(wait_ms, cast(Any, self._consumer).config["session_timeout_ms"])
        _kafka_call("join group", coordinator.ensure_active_group, timeout_ms=wait_ms)
        return True

    def _finish_pending_join(self) -> None:
        """Let a JoinGroup/SyncGroup still in flight end before the member leaves.

        A worker stopped right after it started (a SIGTERM during a restart) closes while its
        join is pending. Tansu 0.6 then keeps the member for good, holding partitions that no
        one consumes, and every later join waits on it. Polling until the join ends (at most
        twice the session timeout) makes the leave a clean one on every broker; records
        fetched meanwhile are dropped uncommitted, so the next owner reads them again.
        """
        coordinator = getattr(self._consumer, "_coordinator", None)  # no public join state

        def joining() -> bool:
            task = getattr(coordinator, "_join_task", None)
            return task is not None and not task.is_done

        if not joining():
            return
        config = cast(Any, self._consumer).config
        deadline = time.monotonic() + 2 * config["session_timeout_ms"] / 1000
        try:
            while joining() and time.monotonic() < deadline:
                self._consumer.poll(timeout_ms=100, max_records=1, update_offsets=False)
        except KafkaError as exc:  # leaving anyway: the broker expires the member in time
            log.warning("join not finished before leaving", extra={"error": repr(exc)})
