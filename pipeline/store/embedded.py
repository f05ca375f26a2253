"""The embedded store: queue items in a SQLite file, for the one-command local run."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.schemas.queue import QueueItem
from pipeline.sqlite_guard import close_once, serialised
from pipeline.store.base import (
    UNKNOWN_LANGUAGE,
    Order,
    QueuePage,
    QueueQuery,
    QueueStore,
    SaveResult,
    StoreUnavailable,
    Write,
    item_categories,
    item_facets,
    item_search_text,
)
from pipeline.store.namespaces import Namespace

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
CREATE TABLE IF NOT EXISTS item_facets (
    contribution_id TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (contribution_id, facet)
);
CREATE INDEX IF NOT EXISTS item_facets_by_value ON item_facets (facet, value);
CREATE TABLE IF NOT EXISTS item_scores (
    contribution_id TEXT NOT NULL, category TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (contribution_id, category)
);
CREATE INDEX IF NOT EXISTS item_scores_by_value ON item_scores (category, value);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied_events (event_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS leases (
    contribution_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS item_text USING fts5 (
    contribution_id UNINDEXED, text, tokenize = "unicode61 remove_diacritics 2"
);
CREATE TABLE IF NOT EXISTS cache (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at REAL,
    PRIMARY KEY (namespace, key)
);
"""

# Keys per multi-get query: well under SQLite's limit of bound parameters.
_CHUNK = 500

_ORDER_SQL = {
    # The fair order: equal priorities oldest first, then by contribution id.
    "priority": "priority DESC, created_ms, contribution_id",
    "oldest": "created_ms, contribution_id",
    "newest": "created_ms DESC, contribution_id DESC",
}


def _text_rowid(contribution_id: str) -> int:
    """An item's row id, the same in ``items`` and its full-text row ``item_text``.

    Stable per contribution id, so a re-save replaces both rows in place; and a search is a
    set of row ids the ``items`` indexes already hold (each index entry carries the row id):
    the fair order is walked in an index and each entry checked, with no table lookups.
    """
    digest = hashlib.blake2b(contribution_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


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
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        self._index_unindexed()

    def _closed_error(self) -> Exception:
        return StoreUnavailable(f"the embedded store at {self.path} is closed")

    def _index_unindexed(self) -> None:
        """Index items saved by a version without facet or text indexes (a store from before),
        giving each the row id its text row has."""
        rows = self._db.execute(
            "SELECT doc FROM items WHERE contribution_id NOT IN "
            "(SELECT contribution_id FROM item_facets) OR rowid NOT IN "
            "(SELECT rowid FROM item_text)"
        ).fetchall()
        if not rows:
            return
        self._db.execute("BEGIN IMMEDIATE")
        for (doc,) in rows:
            item = QueueItem.model_validate_json(doc)
            cid = item.contribution_id
            self._db.execute(
                "UPDATE items SET rowid = ? WHERE contribution_id = ?", (_text_rowid(cid), cid)
            )
            self._write_indexes(item)
        self._db.execute("COMMIT")

    def _write_indexes(self, item: QueueItem) -> None:
        cid = item.contribution_id
        self._db.execute("DELETE FROM item_facets WHERE contribution_id = ?", (cid,))
        self._db.execute("DELETE FROM item_scores WHERE contribution_id = ?", (cid,))
        self._db.executemany(
            "INSERT INTO item_facets (contribution_id, facet, value) VALUES (?, ?, ?)",
            [(cid, k, v) for k, v in item_facets(item).items()],
        )
        self._db.executemany(
            "INSERT INTO item_scores (contribution_id, category, value) VALUES (?, ?, ?)",
            [(cid, k, v) for k, v in item_categories(item).items()],
        )
        rowid = _text_rowid(cid)
        self._db.execute("DELETE FROM item_text WHERE rowid = ?", (rowid,))
        self._db.execute(
            "INSERT INTO item_text (rowid, contribution_id, text) VALUES (?, ?, ?)",
            (rowid, cid, item_search_text(item)),
        )

    @serialised
    def get(self, contribution_id: str) -> QueueItem | None:
        row = self._db.execute(
            "SELECT doc FROM items WHERE contribution_id = ?", (contribution_id,)
        ).fetchone()
        return QueueItem.model_validate_json(row[0]) if row else None

    @serialised
    def get_many(self, contribution_ids: Iterable[str]) -> dict[str, QueueItem]:
        ids = list(dict.fromkeys(contribution_ids))
        found: dict[str, QueueItem] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for cid, doc in self._db.execute(
                f"SELECT contribution_id, doc FROM items WHERE contribution_id IN ({marks})", chunk
            ):
                found[cid] = QueueItem.model_validate_json(doc)
        return found

    @serialised
    def save(
        self,
        item: QueueItem,
        *,
        event_id: str,
        expected_revision: int,
        also_applied: Sequence[str] = (),
    ) -> SaveResult:
        return self.save_many([Write(item, event_id, expected_revision, also_applied)])[0]

    @serialised
    def save_many(self, writes: Sequence[Write]) -> list[SaveResult]:
        """Every write in one transaction (one commit for a whole triage batch)."""
        results: list[SaveResult] = []
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [self._write(w) for w in writes]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return results

    def _write(self, write: Write) -> SaveResult:
        """One checked write inside the caller's transaction."""
        db = self._db
        ids = [write.event_id, *write.also_applied]
        marks = ", ".join("?" * len(ids))
        if db.execute(
            f"SELECT 1 FROM applied_events WHERE event_id IN ({marks}) LIMIT 1", ids
        ).fetchone():
            return SaveResult.DUPLICATE
        item, expected = write.item, write.expected_revision
        row = db.execute(
            "SELECT revision FROM items WHERE contribution_id = ?", (item.contribution_id,)
        ).fetchone()
        if (row[0] if row else 0) != expected:
            return SaveResult.CONFLICT
        stored = item.model_copy(update={"revision": max(item.revision, expected + 1)})
        db.execute(
            "INSERT OR REPLACE INTO items "
            "(rowid, contribution_id, state, priority, language, created_ms, revision, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _text_rowid(stored.contribution_id),
                stored.contribution_id,
                stored.state,
                stored.priority,
                stored.language_code,
                int(stored.contribution.created_at.timestamp() * 1000),
                stored.revision,
                stored.model_dump_json(),
            ),
        )
        self._write_indexes(stored)
        db.executemany(
            "INSERT OR IGNORE INTO applied_events (event_id) VALUES (?)", [(i,) for i in ids]
        )
        return SaveResult.SAVED

    @serialised
    def mark_applied(self, event_id: str) -> bool:
        cur = self._db.execute(
            "INSERT OR IGNORE INTO applied_events (event_id) VALUES (?)", (event_id,)
        )
        return cur.rowcount == 1

    @serialised
    def was_applied(self, event_id: str) -> bool:
        return bool(
            self._db.execute(
                "SELECT 1 FROM applied_events WHERE event_id = ?", (event_id,)
            ).fetchone()
        )

    @serialised
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

    @serialised
    def query(self, query: QueueQuery) -> QueuePage:
        clauses: list[str] = []
        params: list[Any] = []
        if query.states:
            clauses.append(f"state IN ({', '.join('?' * len(query.states))})")
            params.extend(query.states)
        languages = query.wanted_languages
        if languages:
            known = [code for code in languages if code != UNKNOWN_LANGUAGE]
            either = [f"language IN ({', '.join('?' * len(known))})"] if known else []
            if UNKNOWN_LANGUAGE in languages:
                either.append("language IS NULL")
            clauses.append(f"({' OR '.join(either)})")
            params.extend(known)
        if query.words:
            clauses.append("rowid IN (SELECT rowid FROM item_text WHERE item_text MATCH ?)")
            params.append(" ".join(f'"{word}"' for word in query.words))
        for facet, value in query.facets().items():
            clauses.append(
                "contribution_id IN (SELECT contribution_id FROM item_facets "
                "WHERE facet = ? AND value = ?)"
            )
            params.extend([facet, value])
        if query.category is not None:
            clauses.append(
                "contribution_id IN (SELECT contribution_id FROM item_scores "
                "WHERE category = ? AND value BETWEEN ? AND ?)"
            )
            params.extend([query.category, query.min_score, query.max_score])
        if query.created_after is not None:
            clauses.append("created_ms >= ?")
            params.append(int(query.created_after.timestamp() * 1000))
        if query.created_before is not None:
            clauses.append("created_ms <= ?")
            params.append(int(query.created_before.timestamp() * 1000))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = _ORDER_SQL[query.order]
        rows = self._db.execute(
            f"SELECT doc FROM items {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        ).fetchall()
        (total,) = self._db.execute(f"SELECT COUNT(*) FROM items {where}", params).fetchone()
        return QueuePage([QueueItem.model_validate_json(row[0]) for row in rows], total)

    @serialised
    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())

    def iter_items(self) -> Iterator[QueueItem]:
        after = ""
        while page := self._items_after(after):
            yield from page
            after = page[-1].contribution_id

    @serialised
    def _items_after(self, after: str, limit: int = _CHUNK) -> list[QueueItem]:
        """A page of items in contribution id order (the lock is not held between pages)."""
        rows = self._db.execute(
            "SELECT doc FROM items WHERE contribution_id > ? ORDER BY contribution_id LIMIT ?",
            (after, limit),
        ).fetchall()
        return [QueueItem.model_validate_json(doc) for (doc,) in rows]

    @serialised
    def clear(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM items")
        self._db.execute("DELETE FROM item_facets")
        self._db.execute("DELETE FROM item_scores")
        self._db.execute("DELETE FROM item_text")
        self._db.execute("DELETE FROM applied_events")
        self._db.execute("DELETE FROM leases")
        self._db.execute("COMMIT")

    @serialised
    def claim(self, contribution_id: str, holder: str, ttl_s: float) -> str:
        now = time.time()
        self._db.execute(
            "INSERT INTO leases (contribution_id, holder, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (contribution_id) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at WHERE leases.holder = excluded.holder "
            "OR leases.expires_at <= ?",
            (contribution_id, holder, now + ttl_s, now),
        )
        return self.lease_holder(contribution_id) or holder

    @serialised
    def claim_first(self, contribution_ids: Sequence[str], holder: str, ttl_s: float) -> int | None:
        """One transaction: the first candidate nobody else holds is leased to ``holder``."""
        if not contribution_ids:
            return None
        now = time.time()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            marks = ", ".join("?" * len(contribution_ids))
            held = dict(
                db.execute(
                    f"SELECT contribution_id, holder FROM leases WHERE contribution_id IN "
                    f"({marks}) AND expires_at > ?",
                    [*contribution_ids, now],
                ).fetchall()
            )
            index = next(
                (i for i, cid in enumerate(contribution_ids) if held.get(cid, holder) == holder),
                None,
            )
            if index is not None:
                db.execute(
                    "INSERT OR REPLACE INTO leases (contribution_id, holder, expires_at) "
                    "VALUES (?, ?, ?)",
                    (contribution_ids[index], holder, now + ttl_s),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return index

    @serialised
    def release(self, contribution_id: str, holder: str) -> bool:
        cur = self._db.execute(
            "DELETE FROM leases WHERE contribution_id = ? AND holder = ? AND expires_at > ?",
            (contribution_id, holder, time.time()),
        )
        return cur.rowcount == 1

    @serialised
    def lease_holder(self, contribution_id: str) -> str | None:
        row = self._db.execute(
            "SELECT holder FROM leases WHERE contribution_id = ? AND expires_at > ?",
            (contribution_id, time.time()),
        ).fetchone()
        return row[0] if row else None

    @serialised
    def audit_append(self, entry: str) -> str:
        cur = self._db.execute("INSERT INTO audit (entry) VALUES (?)", (entry,))
        return str(cur.lastrowid)

    @serialised
    def audit_read(self, *, before: str | None = None, limit: int = 500) -> list[tuple[str, str]]:
        rows = self._db.execute(
            "SELECT id, entry FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?",
            (int(before) if before is not None else 2**62, limit),
        ).fetchall()
        return [(str(i), entry) for i, entry in rows]

    @serialised
    def cache_get(self, namespace: Namespace, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM cache WHERE namespace = ? AND key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (namespace, key, time.time()),
        ).fetchone()
        return row[0] if row else None

    @serialised
    def cache_set(
        self, namespace: Namespace, key: str, value: str, ttl_s: float | None = None
    ) -> None:
        expires = None if ttl_s is None else time.time() + ttl_s
        self._db.execute(
            "INSERT OR REPLACE INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)",
            (namespace, key, value, expires),
        )

    @serialised
    def cache_add(self, namespace: Namespace, key: str, value: str) -> str:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "DELETE FROM cache WHERE namespace = ? AND key = ? AND expires_at <= ?",
                (namespace, key, time.time()),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO cache (namespace, key, value, expires_at) "
                "VALUES (?, ?, ?, NULL)",
                (namespace, key, value),
            )
            row = self._db.execute(
                "SELECT value FROM cache WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return str(row[0])

    @serialised
    def cache_clear(self, namespace: Namespace) -> None:
        self._db.execute("DELETE FROM cache WHERE namespace = ?", (namespace,))

    @serialised
    def cache_delete(self, namespace: Namespace, keys: Iterable[str]) -> None:
        wanted = [(namespace, key) for key in keys]
        self._db.executemany("DELETE FROM cache WHERE namespace = ? AND key = ?", wanted)

    @serialised
    def cache_get_many(self, namespace: Namespace, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        now = time.time()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(
                    f"SELECT key, value FROM cache WHERE namespace = ? AND key IN ({marks}) "
                    "AND (expires_at IS NULL OR expires_at > ?)",
                    (namespace, *chunk, now),
                ).fetchall()
            )
        return found

    @serialised
    def cache_set_many(
        self, namespace: Namespace, items: Mapping[str, str], ttl_s: float | None = None
    ) -> None:
        if not items:
            return
        expires = None if ttl_s is None else time.time() + ttl_s
        rows = [(namespace, key, value, expires) for key, value in items.items()]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO cache (namespace, key, value, expires_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        close_once(self, self._db)
