"""The embedded bus: a durable log in one SQLite file, for the one-command local run.

Same semantics as Kafka as far as Hemicycle relies on them (see :mod:`pipeline.bus.base`):
keyed partitions, consumer groups sharing partitions between processes, committed offsets,
redelivery of what was polled but not committed. Group membership is a heartbeat row per
consumer; a member silent for ``session_timeout_s`` is dropped and its partitions move on.
Commits never move an offset backwards. Records are kept for ever (the log of record).
Producers refuse records larger than ``max_record_bytes`` (default: Kafka's limit) alike.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.bus.base import (
    MAX_RECORD_BYTES,
    Bus,
    BusConfigError,
    BusUnavailable,
    Consumer,
    PartitionLag,
    Producer,
    Record,
    RecordsRefused,
    Replay,
    TopicPartition,
    as_key,
    record_bytes,
    too_large,
)
from pipeline.sqlite_guard import close_once, serialised

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, headers TEXT NOT NULL, ts_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_position ON records (topic, partition, offset);
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
);
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL, member_id TEXT NOT NULL, last_seen REAL NOT NULL,
    PRIMARY KEY (grp, member_id)
);
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, so readers never block the writer."""
    try:
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise BusUnavailable(f"cannot open embedded bus at {path}: {exc}") from exc
    return db


def partition_for(key: bytes | None, partitions: int, fallback: int) -> int:
    """Stable partition of a key; keyless records spread round-robin."""
    if key is None:
        return fallback % partitions
    return zlib.crc32(key) % partitions


class EmbeddedBus(Bus):
    _REPLAY_CHUNK = 256  # rows per query while replaying: bounded memory

    def __init__(
        self,
        path: Path,
        *,
        session_timeout_s: float = 30.0,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.session_timeout_s = session_timeout_s
        self.max_record_bytes = max_record_bytes
        self._db = connect(path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._closed = False

    def _closed_error(self) -> Exception:
        return BusUnavailable(f"the embedded bus at {self.path} is closed")

    @serialised
    def ensure_topics(self, topics: Iterable[str], partitions: int) -> None:
        if partitions < 1:
            raise BusConfigError("partitions must be at least 1")
        self._db.executemany(
            "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)",
            [(topic, partitions) for topic in topics],
        )

    @serialised
    def partitions(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, partitions FROM topics").fetchall())

    def producer(self) -> EmbeddedProducer:
        return EmbeddedProducer(self.path, max_record_bytes=self.max_record_bytes)

    def consumer(self, group: str, topics: Sequence[str]) -> EmbeddedConsumer:
        known = self.partitions()
        missing = [topic for topic in topics if topic not in known]
        if missing:
            raise BusConfigError(f"unknown topic(s): {', '.join(missing)}")
        return EmbeddedConsumer(self.path, group, topics, self.session_timeout_s)

    @serialised
    def topic_counts(self, topics: Sequence[str] | None = None) -> dict[str, int]:
        counts = dict.fromkeys(self.partitions() if topics is None else topics, 0)
        rows = self._db.execute(
            "SELECT topic, SUM(hw) FROM (SELECT topic, MAX(offset) + 1 AS hw FROM records "
            "GROUP BY topic, partition) GROUP BY topic"
        ).fetchall()
        counts.update((topic, n) for topic, n in rows if topic in counts)
        return counts

    @serialised
    def lag(self, group: str, topics: Sequence[str]) -> list[PartitionLag]:
        known = self.partitions()
        out: list[PartitionLag] = []
        for topic in topics:
            highs = dict(
                self._db.execute(
                    "SELECT partition, MAX(offset) + 1 FROM records WHERE topic = ? "
                    "GROUP BY partition",
                    (topic,),
                ).fetchall()
            )
            commits = dict(
                self._db.execute(
                    "SELECT partition, offset FROM offsets WHERE grp = ? AND topic = ?",
                    (group, topic),
                ).fetchall()
            )
            for partition in range(known.get(topic, 0)):
                out.append(
                    PartitionLag(
                        topic, partition, commits.get(partition, 0), highs.get(partition, 0)
                    )
                )
        return out

    @serialised
    def read(
        self, topic: str, *, from_start: bool = True, limit: int | None = None
    ) -> list[Record]:
        rows = self._db.execute(
            "SELECT topic, partition, offset, key, value, headers, ts_ms FROM records "
            "WHERE topic = ? ORDER BY ts_ms, partition, offset LIMIT ?",
            (topic, -1 if limit is None else limit),
        ).fetchall()
        return [_record(row) for row in rows]

    @serialised
    def replay(self, topics: Sequence[str]) -> Replay:
        known = self.partitions()
        missing = [topic for topic in topics if topic not in known]
        if missing:
            raise BusConfigError(f"unknown topic(s): {', '.join(missing)}")
        ends: dict[TopicPartition, tuple[int, int]] = {}
        for topic in dict.fromkeys(topics):
            rows = self._db.execute(
                "SELECT partition, MIN(offset), MAX(offset) + 1 FROM records WHERE topic = ? "
                "GROUP BY partition ORDER BY partition",
                (topic,),
            ).fetchall()
            ends.update((TopicPartition(topic, p), (low, high)) for p, low, high in rows)
        total = sum(high - low for low, high in ends.values())
        highs = {tp: high for tp, (_, high) in ends.items()}
        return Replay(total, highs, self._stream(ends))

    def _stream(self, ends: Mapping[TopicPartition, tuple[int, int]]) -> Iterator[Record]:
        """Each partition in turn, in chunks, on its own connection (a generator may outlive
        other calls on this bus)."""
        db = connect(self.path)
        try:
            for tp, (position, high) in ends.items():
                while position < high:
                    rows = db.execute(
                        "SELECT topic, partition, offset, key, value, headers, ts_ms FROM records "
                        "WHERE topic = ? AND partition = ? AND offset >= ? AND offset < ? "
                        "ORDER BY offset LIMIT ?",
                        (tp.topic, tp.partition, position, high, self._REPLAY_CHUNK),
                    ).fetchall()
                    if not rows:
                        break
                    position = rows[-1][2] + 1
                    yield from (_record(row) for row in rows)
        finally:
            db.close()

    @serialised
    def groups(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT DISTINCT grp FROM offsets ORDER BY grp")]

    def close(self) -> None:
        close_once(self, self._db)


def _record(row: tuple[Any, ...]) -> Record:
    topic, partition, offset, key, value, headers, ts_ms = row
    return Record(topic, partition, offset, key, value, json.loads(headers), ts_ms)


class EmbeddedProducer(Producer):
    """Buffers records; :meth:`flush` writes them all in one transaction (then durable).

    A record over ``max_record_bytes`` is never buffered: the next flush reports it in
    :class:`RecordsRefused` after writing the others.
    """

    def __init__(self, path: Path, *, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self._db = connect(path)
        self.max_record_bytes = max_record_bytes
        self._pending: list[tuple[str, bytes | None, bytes, str]] = []
        self._published = 0  # records published since the last successful flush
        self._refused: dict[int, str] = {}
        self._round_robin = itertools.count()

    def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        position, self._published = self._published, self._published + 1
        wire_key = as_key(key)
        size = record_bytes(wire_key, value, headers)
        if size > self.max_record_bytes:
            self._refused[position] = too_large(size, self.max_record_bytes)
            return
        self._pending.append((topic, wire_key, value, json.dumps(dict(headers or {}))))

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            try:
                self._write(pending)
            except Exception:
                self._pending = pending + self._pending
                raise
        refused, self._refused, self._published = self._refused, {}, 0
        if refused:
            raise RecordsRefused(refused)

    def _write(self, pending: list[tuple[str, bytes | None, bytes, str]]) -> None:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            partitions = dict(db.execute("SELECT name, partitions FROM topics").fetchall())
            next_offset: dict[tuple[str, int], int] = {}
            rows = []
            now_ms = int(time.time() * 1000)
            for topic, key, value, headers in pending:
                if topic not in partitions:
                    raise BusConfigError(f"unknown topic: {topic}")
                partition = partition_for(key, partitions[topic], next(self._round_robin))
                slot = (topic, partition)
                if slot not in next_offset:
                    (high,) = db.execute(
                        "SELECT COALESCE(MAX(offset) + 1, 0) FROM records "
                        "WHERE topic = ? AND partition = ?",
                        slot,
                    ).fetchone()
                    next_offset[slot] = high
                rows.append((topic, partition, next_offset[slot], key, value, headers, now_ms))
                next_offset[slot] += 1
            db.executemany(
                "INSERT INTO records (topic, partition, offset, key, value, headers, ts_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.flush()
        self._db.close()


class EmbeddedConsumer(Consumer):
    """One member of a consumer group. Assignment: sorted partitions dealt round-robin."""

    _REFRESH_S = 0.5

    def __init__(
        self, path: Path, group: str, topics: Sequence[str], session_timeout_s: float
    ) -> None:
        self._db = connect(path)
        self.group = group
        self.topics = list(topics)
        self.member_id = uuid.uuid4().hex
        self._timeout = session_timeout_s
        self._positions: dict[TopicPartition, int] = {}
        self._refreshed = 0.0
        self._start = 0

    def _refresh(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._refreshed < self._REFRESH_S:
            return
        self._refreshed = now
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO members (grp, member_id, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, member_id) DO UPDATE SET last_seen = excluded.last_seen",
                (self.group, self.member_id, now),
            )
            db.execute(
                "DELETE FROM members WHERE grp = ? AND last_seen < ?",
                (self.group, now - self._timeout),
            )
            members = [
                row[0]
                for row in db.execute(
                    "SELECT member_id FROM members WHERE grp = ? ORDER BY member_id", (self.group,)
                )
            ]
            placeholders = ",".join("?" * len(self.topics))
            topics = db.execute(
                f"SELECT name, partitions FROM topics WHERE name IN ({placeholders}) ORDER BY name",
                self.topics,
            ).fetchall()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        every = [TopicPartition(name, p) for name, count in topics for p in range(count)]
        index, size = members.index(self.member_id), len(members)
        mine = {tp for i, tp in enumerate(every) if i % size == index}
        revoked = set(self._positions) - mine
        if revoked:  # commit on revocation: what was handed out before this poll is processed
            self.commit({tp: self._positions[tp] for tp in revoked})
        for tp in revoked:
            del self._positions[tp]
        for tp in mine - set(self._positions):
            self._positions[tp] = self._committed(tp)

    def _committed(self, tp: TopicPartition) -> int:
        row = self._db.execute(
            "SELECT offset FROM offsets WHERE grp = ? AND topic = ? AND partition = ?",
            (self.group, tp.topic, tp.partition),
        ).fetchone()
        return row[0] if row else 0

    def assignment(self) -> set[TopicPartition]:
        self._refresh()
        return set(self._positions)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while True:
            self._refresh()
            records = self._fetch(max_records)
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def _fetch(self, max_records: int) -> list[Record]:
        owned = sorted(self._positions, key=lambda tp: (tp.topic, tp.partition))
        if not owned:
            return []
        self._start = (self._start + 1) % len(owned)
        out: list[Record] = []
        for tp in owned[self._start :] + owned[: self._start]:
            room = max_records - len(out)
            if room <= 0:
                break
            rows = self._db.execute(
                "SELECT topic, partition, offset, key, value, headers, ts_ms FROM records "
                "WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?",
                (tp.topic, tp.partition, self._positions[tp], room),
            ).fetchall()
            if rows:
                out.extend(_record(row) for row in rows)
                self._positions[tp] = rows[-1][2] + 1
        return out

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        chosen = dict(self._positions if offsets is None else offsets)
        if not chosen:
            return
        self._db.executemany(
            "INSERT INTO offsets (grp, topic, partition, offset) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (grp, topic, partition) "
            "DO UPDATE SET offset = MAX(offset, excluded.offset)",
            [(self.group, tp.topic, tp.partition, off) for tp, off in chosen.items()],
        )

    def close(self) -> None:
        self._db.execute(
            "DELETE FROM members WHERE grp = ? AND member_id = ?", (self.group, self.member_id)
        )
        self._db.close()
