"""Scorer state in SQLite: a file beside the embedded store's, one transaction per batch.

The embedded store ``store.sqlite3`` gets ``store-scorer.sqlite3`` next to it (``:memory:``
for tests and a scorer without a store). A file of its own: the scorer's batch transactions
never hold the write lock that triage and the UI need on the queue. ``BEGIN IMMEDIATE`` takes
the lock first, so scorer processes sharing the file run their batches one after the other and
see each other's members.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from pipeline.store.base import StoreUnavailable
from pipeline.store.embedded import EmbeddedStore
from pipeline.store.scorer_state import (
    Facts,
    Observation,
    ScorerLimits,
    ScorerState,
    cluster_name,
    encode_facts,
    facts_from_json,
    stem_of,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scorer_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scorer_seen (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scorer_seen_by_seq ON scorer_seen (seq);
CREATE TABLE IF NOT EXISTS scorer_authors (author TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scorer_bursts (
    author TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (author, key)
);
CREATE INDEX IF NOT EXISTS scorer_bursts_by_time ON scorer_bursts (author, at);
CREATE TABLE IF NOT EXISTS scorer_members (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, stem TEXT NOT NULL, cluster TEXT
);
CREATE INDEX IF NOT EXISTS scorer_members_by_seq ON scorer_members (seq);
CREATE INDEX IF NOT EXISTS scorer_members_by_stem ON scorer_members (stem);
CREATE INDEX IF NOT EXISTS scorer_members_by_cluster ON scorer_members (cluster, seq);
CREATE TABLE IF NOT EXISTS scorer_bands (band TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (band, key));
CREATE INDEX IF NOT EXISTS scorer_bands_by_key ON scorer_bands (key);
CREATE TABLE IF NOT EXISTS scorer_clusters (cluster TEXT PRIMARY KEY, size INTEGER NOT NULL);
"""


class SqliteScorerState(ScorerState):
    def __init__(self, target: Path | str, limits: ScorerLimits) -> None:
        super().__init__(limits)
        try:
            self._db = sqlite3.connect(
                target, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            if target != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open scorer state at {target}: {exc}") from exc

    @classmethod
    def in_memory(cls, limits: ScorerLimits) -> SqliteScorerState:
        """State private to this object: for tests and a scorer run without a store."""
        return cls(":memory:", limits)

    @classmethod
    def beside(
        cls, store: EmbeddedStore, limits: ScorerLimits, name: str = "scorer"
    ) -> SqliteScorerState:
        """State in a file next to the embedded store's (see the module doc)."""
        store_file = store.path
        return cls(store_file.with_name(f"{store_file.stem}-{name}.sqlite3"), limits)

    def observe(self, observations: Sequence[Observation]) -> list[Facts]:
        if not observations:
            return []
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            facts = [self._observe(o) for o in observations]
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreUnavailable(f"scorer state: {exc}") from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return facts

    def members(self, cluster_id: str) -> tuple[str, ...]:
        rows = self._db.execute(
            "SELECT key FROM scorer_members WHERE cluster = ? ORDER BY seq", (cluster_id,)
        ).fetchall()
        return tuple(key for (key,) in rows)

    def close(self) -> None:
        self._db.close()

    # One observation, inside the batch's transaction.

    def _observe(self, o: Observation) -> Facts:
        db = self._db
        row = db.execute("SELECT facts FROM scorer_seen WHERE key = ?", (o.key,)).fetchone()
        if row is not None:
            return facts_from_json(row[0])
        seq = self._next_seq()
        prior = self._count_author(o.author)
        burst = self._burst(o)
        cluster: str | None = None
        size = 0
        notify: tuple[str, ...] = ()
        if o.bands is not None:
            cluster, size, notify = self._cluster(o, seq)
        facts = Facts(prior, burst, cluster, size, notify)
        db.execute(
            "INSERT INTO scorer_seen (key, seq, facts) VALUES (?, ?, ?)",
            (o.key, seq, encode_facts(facts)),
        )
        db.execute("DELETE FROM scorer_seen WHERE seq <= ?", (seq - self.limits.flood_window,))
        return facts

    def _next_seq(self) -> int:
        (seq,) = self._db.execute(
            "INSERT INTO scorer_counter (name, value) VALUES ('seq', 1) ON CONFLICT (name) "
            "DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        return int(seq)

    def _count_author(self, author: str) -> int:
        (count,) = self._db.execute(
            "INSERT INTO scorer_authors (author, count) VALUES (?, 1) ON CONFLICT (author) "
            "DO UPDATE SET count = count + 1 RETURNING count",
            (author,),
        ).fetchone()
        return int(count) - 1

    def _burst(self, o: Observation) -> int:
        db, start = self._db, o.at_ms - self.limits.burst_window_ms
        db.execute(
            "INSERT OR IGNORE INTO scorer_bursts (author, key, at) VALUES (?, ?, ?)",
            (o.author, o.key, o.at_ms),
        )
        db.execute("DELETE FROM scorer_bursts WHERE author = ? AND at < ?", (o.author, start))
        (count,) = db.execute(
            "SELECT COUNT(*) FROM scorer_bursts WHERE author = ? AND at >= ?", (o.author, start)
        ).fetchone()
        return int(count)

    def _cluster(self, o: Observation, seq: int) -> tuple[str | None, int, tuple[str, ...]]:
        db = self._db
        stem = stem_of(o.key)
        for (old,) in db.execute(  # this key too: a replay after its record left the window
            "SELECT key FROM scorer_members WHERE stem = ?", (stem,)
        ).fetchall():
            self._drop(old)
        assert o.bands is not None
        marks = ", ".join("?" * len(o.bands))
        neighbours: list[tuple[str, str | None]] = db.execute(
            "SELECT m.key, m.cluster FROM scorer_members m WHERE m.key IN "
            f"(SELECT key FROM scorer_bands WHERE band IN ({marks})) ORDER BY m.seq",
            o.bands,
        ).fetchall()
        db.execute(
            "INSERT INTO scorer_members (key, seq, stem, cluster) VALUES (?, ?, ?, NULL)",
            (o.key, seq, stem),
        )
        self._add_members(1)
        db.executemany(
            "INSERT OR IGNORE INTO scorer_bands (band, key) VALUES (?, ?)",
            [(band, o.key) for band in o.bands],
        )
        result: tuple[str | None, int, tuple[str, ...]] = (None, 0, ())
        if neighbours:
            result = self._join(o.key, neighbours)
        self._evict()
        return result

    def _join(
        self, key: str, neighbours: list[tuple[str, str | None]]
    ) -> tuple[str, int, tuple[str, ...]]:
        db = self._db
        clusters = list(dict.fromkeys(c for _, c in neighbours if c is not None))
        sizes = {c: self._size(c) for c in clusters}
        if clusters:  # the largest; among equals the one of the earliest neighbour
            target = max(clusters, key=lambda c: sizes[c])
        else:
            target = cluster_name(neighbours[0][0])
        before = sizes.get(target, 0)
        moved: list[str] = []
        for merged in clusters:
            if merged != target:
                moved += [
                    k
                    for (k,) in db.execute(
                        "SELECT key FROM scorer_members WHERE cluster = ? ORDER BY seq",
                        (merged,),
                    )
                ]
                db.execute("DELETE FROM scorer_clusters WHERE cluster = ?", (merged,))
        joined = [k for k, c in neighbours if c is None] + moved
        db.executemany(
            "UPDATE scorer_members SET cluster = ? WHERE key = ?",
            [(target, k) for k in [*joined, key]],
        )
        size = before + len(joined) + 1
        db.execute(
            "INSERT INTO scorer_clusters (cluster, size) VALUES (?, ?) ON CONFLICT (cluster) "
            "DO UPDATE SET size = excluded.size",
            (target, size),
        )
        if before < self.limits.flood_min_size <= size:
            notify = tuple(k for k in self.members(target) if k != key)
        else:
            notify = tuple(joined)
        return target, size, notify

    def _size(self, cluster: str) -> int:
        row = self._db.execute(
            "SELECT size FROM scorer_clusters WHERE cluster = ?", (cluster,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _drop(self, key: str) -> None:
        """A member leaves the index (evicted, or replaced by a newer version)."""
        db = self._db
        row = db.execute("SELECT cluster FROM scorer_members WHERE key = ?", (key,)).fetchone()
        if row is None:
            return
        db.execute("DELETE FROM scorer_members WHERE key = ?", (key,))
        self._add_members(-1)
        db.execute("DELETE FROM scorer_bands WHERE key = ?", (key,))
        if row[0] is not None:
            db.execute("UPDATE scorer_clusters SET size = size - 1 WHERE cluster = ?", (row[0],))
            db.execute("DELETE FROM scorer_clusters WHERE cluster = ? AND size <= 0", (row[0],))

    def _add_members(self, delta: int) -> int:
        """Keep the member count (a ``COUNT(*)`` would scan the index on every insert)."""
        (count,) = self._db.execute(
            "INSERT INTO scorer_counter (name, value) VALUES ('members', ?) ON CONFLICT (name) "
            "DO UPDATE SET value = value + excluded.value RETURNING value",
            (delta,),
        ).fetchone()
        return int(count)

    def _evict(self) -> None:
        excess = self._add_members(0) - self.limits.flood_window
        if excess <= 0:
            return
        for (old,) in self._db.execute(
            "SELECT key FROM scorer_members ORDER BY seq LIMIT ?", (excess,)
        ).fetchall():
            self._drop(old)
