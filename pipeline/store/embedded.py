"""The embedded store: queue items in a SQLite file, for the one-command local run."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pipeline.schemas.queue import QueueItem
from pipeline.store.base import Order, QueueStore, SaveResult, StoreUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    contribution_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    priority REAL NOT NULL,
    language TEXT,
    created_ms INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_priority ON items (state, priority DESC, created_ms);
CREATE INDEX IF NOT EXISTS items_by_age ON items (state, created_ms);
CREATE INDEX IF NOT EXISTS items_by_language ON items (state, language, priority DESC);
CREATE TABLE IF NOT EXISTS applied_events (event_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS leases (
    contribution_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at REAL,
    PRIMARY KEY (namespace, key)
);
"""

_ORDER_SQL = {
    # Ties on priority and age: contribution id descending (as the Redis store orders them).
    "priority": "priority DESC, created_ms, contribution_id DESC",
    "oldest": "created_ms, contribution_id",
}


class EmbeddedStore(QueueStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # The store is a projection of the log (`hemicycle rebuild` restores it): WAL with
            # NORMAL sync survives process crashes and skips an fsync per write.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open embedded store at {path}: {exc}") from exc
        self._lock = threading.Lock()

    def get(self, contribution_id: str) -> QueueItem | None:
        row = self._db.execute(
            "SELECT doc FROM items WHERE contribution_id = ?", (contribution_id,)
        ).fetchone()
        return QueueItem.model_validate_json(row[0]) if row else None

    def save(self, item: QueueItem, *, event_id: str, expected_revision: int) -> SaveResult:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute(
                    "SELECT 1 FROM applied_events WHERE event_id = ?", (event_id,)
                ).fetchone():
                    db.execute("ROLLBACK")
                    return SaveResult.DUPLICATE
                row = db.execute(
                    "SELECT revision FROM items WHERE contribution_id = ?", (item.contribution_id,)
                ).fetchone()
                if (row[0] if row else 0) != expected_revision:
                    db.execute("ROLLBACK")
                    return SaveResult.CONFLICT
                stored = item.model_copy(update={"revision": expected_revision + 1})
                db.execute(
                    "INSERT OR REPLACE INTO items "
                    "(contribution_id, state, priority, language, created_ms, revision, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        stored.contribution_id,
                        stored.state,
                        stored.priority,
                        stored.language_code,
                        int(stored.contribution.created_at.timestamp() * 1000),
                        stored.revision,
                        stored.model_dump_json(),
                    ),
                )
                db.execute("INSERT INTO applied_events (event_id) VALUES (?)", (event_id,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return SaveResult.SAVED

    def mark_applied(self, event_id: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO applied_events (event_id) VALUES (?)", (event_id,)
            )
        return cur.rowcount == 1

    def was_applied(self, event_id: str) -> bool:
        return bool(
            self._db.execute(
                "SELECT 1 FROM applied_events WHERE event_id = ?", (event_id,)
            ).fetchone()
        )

    def list_items(
        self,
        *,
        state: str | None = None,
        language: str | None = None,
        order: Order = "priority",
        limit: int = 50,
        offset: int = 0,
    ) -> list[QueueItem]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if language is not None:
            clauses.append("language = ?")
            params.append(language)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT doc FROM items {where} ORDER BY {_ORDER_SQL[order]} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [QueueItem.model_validate_json(row[0]) for row in rows]

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())

    def iter_items(self) -> Iterator[QueueItem]:
        cursor = self._db.execute("SELECT doc FROM items ORDER BY contribution_id")
        for (doc,) in cursor:
            yield QueueItem.model_validate_json(doc)

    def clear(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM items")
            self._db.execute("DELETE FROM applied_events")
            self._db.execute("DELETE FROM leases")
            self._db.execute("COMMIT")

    def claim(self, contribution_id: str, holder: str, ttl_s: float) -> str:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO leases (contribution_id, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (contribution_id) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at WHERE leases.holder = excluded.holder "
                "OR leases.expires_at <= ?",
                (contribution_id, holder, now + ttl_s, now),
            )
        return self.lease_holder(contribution_id) or holder

    def release(self, contribution_id: str, holder: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM leases WHERE contribution_id = ? AND holder = ? AND expires_at > ?",
                (contribution_id, holder, time.time()),
            )
        return cur.rowcount == 1

    def lease_holder(self, contribution_id: str) -> str | None:
        row = self._db.execute(
            "SELECT holder FROM leases WHERE contribution_id = ? AND expires_at > ?",
            (contribution_id, time.time()),
        ).fetchone()
        return row[0] if row else None

    def cache_get(self, namespace: str, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM cache WHERE namespace = ? AND key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (namespace, key, time.time()),
        ).fetchone()
        return row[0] if row else None

    def cache_set(self, namespace: str, key: str, value: str, ttl_s: float | None = None) -> None:
        expires = None if ttl_s is None else time.time() + ttl_s
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cache (namespace, key, value, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (namespace, key, value, expires),
            )

    def close(self) -> None:
        self._db.close()
