"""Data keys for personal fields: one random AES-256 key per contribution, kept in the store.

Crypto-shredding: every personal field of every event is sealed with its contribution's key
(:mod:`pipeline.privacy.sealing`); erasing a contribution replaces its key by a tombstone, and
from then on every reader — a worker, ``hemicycle rebuild``, a raw consumer — finds only
ciphertext nobody can open. The log keeps its records (offsets, ids, decisions, statements of
reasons); their personal content is gone.

Store cache namespaces (no expiry; ``clear`` before a rebuild keeps them):

* ``data-keys``: key id → base64 key, or ``erased``;
* ``author-contributions``: author key id → JSON list of the author's contribution ids, so
  that erasing an author reaches contributions not yet triaged;
* ``erased-authors``: author key id → ``erased``; a contribution of an erased author arriving
  later gets a tombstone as its key: erased on arrival.

Key ids are truncated SHA-256 digests, so neither an author id nor a contribution id is
written in the clear by this module. Keys are cached in memory for ``ttl_s`` (a key erased
meanwhile may still seal or open for that long; triage erases late results of an erased item
regardless); tombstones are cached for good.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable
from typing import Final

from pipeline.store.base import QueueStore

DATA_KEYS: Final = "data-keys"
AUTHOR_CONTRIBUTIONS: Final = "author-contributions"
ERASED_AUTHORS: Final = "erased-authors"
ERASED: Final = "erased"
KEY_BYTES = 32


class Erased:
    """The key of an erased contribution: nothing sealed with it can be opened."""


ERASED_KEY: Final = Erased()


def key_id(contribution_id: str) -> str:
    return hashlib.sha256(f"contribution\0{contribution_id}".encode()).hexdigest()[:32]


def author_id(platform: str, author: str) -> str:
    return hashlib.sha256(f"author\0{platform}\0{author}".encode()).hexdigest()[:32]


class Keyring:
    def __init__(self, store: QueueStore, *, ttl_s: float = 30.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._memo: dict[str, tuple[float, bytes | Erased]] = {}

    def key(self, kid: str) -> bytes | Erased | None:
        """The key with id ``kid``, :data:`ERASED_KEY`, or None if no such key exists."""
        cached = self._memo.get(kid)
        if cached is not None and (cached[1] is ERASED_KEY or cached[0] > time.monotonic()):
            return cached[1]
        raw = self.store.cache_get(DATA_KEYS, kid)
        return self._remember(kid, raw) if raw is not None else None

    def keys(self, kids: Iterable[str]) -> dict[str, bytes | Erased]:
        """The keys that exist among ``kids`` (one multi-get for those not in memory)."""
        found: dict[str, bytes | Erased] = {}
        missing = []
        now = time.monotonic()
        for kid in dict.fromkeys(kids):
            cached = self._memo.get(kid)
            if cached is not None and (cached[1] is ERASED_KEY or cached[0] > now):
                found[kid] = cached[1]
            else:
                missing.append(kid)
        if missing:
            for kid, raw in self.store.cache_get_many(DATA_KEYS, missing).items():
                found[kid] = self._remember(kid, raw)
        return found

    def ensure(self, contribution_id: str, platform: str, author: str) -> bytes | Erased:
        """The contribution's key, created if it has none (an erased author's: a tombstone)."""
        kid = key_id(contribution_id)
        known = self.key(kid)
        if known is not None:
            return known
        who = author_id(platform, author)
        erased = self.store.cache_get(ERASED_AUTHORS, who) is not None
        fresh = ERASED if erased else base64.b64encode(os.urandom(KEY_BYTES)).decode()
        held = self.store.cache_add(DATA_KEYS, kid, fresh)
        if held == fresh and not erased:
            self._index(who, contribution_id)
        return self._remember(kid, held)

    def contributions_of(self, platform: str, author: str) -> list[str]:
        raw = self.store.cache_get(AUTHOR_CONTRIBUTIONS, author_id(platform, author))
        return list(json.loads(raw)) if raw else []

    def erase(self, contribution_ids: Iterable[str]) -> None:
        """Replace the keys of these contributions by tombstones (idempotent)."""
        kids = {key_id(cid) for cid in contribution_ids}
        if kids:
            self.store.cache_set_many(DATA_KEYS, {kid: ERASED for kid in kids})
        for kid in kids:
            self._memo[kid] = (0.0, ERASED_KEY)

    def erase_author(self, platform: str, author: str) -> list[str]:
        """Tombstone the author and every contribution of theirs the keyring knows."""
        who = author_id(platform, author)
        self.store.cache_set(ERASED_AUTHORS, who, ERASED)
        known = self.contributions_of(platform, author)
        self.erase(known)
        return known

    def author_erased(self, platform: str, author: str) -> bool:
        return self.store.cache_get(ERASED_AUTHORS, author_id(platform, author)) is not None

    def _index(self, who: str, contribution_id: str) -> None:
        raw = self.store.cache_get(AUTHOR_CONTRIBUTIONS, who)
        known = json.loads(raw) if raw else []
        if contribution_id not in known:
            known.append(contribution_id)
            self.store.cache_set(AUTHOR_CONTRIBUTIONS, who, json.dumps(known))

    def _remember(self, kid: str, raw: str) -> bytes | Erased:
        value: bytes | Erased = ERASED_KEY if raw == ERASED else base64.b64decode(raw)
        self._memo[kid] = (time.monotonic() + self.ttl_s, value)
        if len(self._memo) > 100_000:
            self._memo.clear()
        return value
