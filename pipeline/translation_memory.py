"""Translation memory and machine-translation cache, both in the store's cache namespace.

* **memory** (namespace ``tm``, key from (source, target, segment)): segments a translator
  corrected. Reused from then on, before any model, and marked ``memory`` in events and
  exports.
* **cache** (namespace ``mt``, key from (model id, source, target, segment)): what a model
  produced for a segment. An identical segment (a copy-paste campaign, an unchanged sentence
  of an edited contribution) is never translated twice by the same model.

Keys are SHA-256 digests of the JSON list of their parts, so no part (a model id holds ``:``)
can run into another and any text length is fine. One namespace per kind lets a whole poll
batch, every language pair at once, be looked up in one multi-get
(:meth:`QueueStore.cache_get_many`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TypeVar

from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

MEMORY: CacheNamespace = "tm"
CACHE: CacheNamespace = "mt"

# (source, target, segment) and (model id, source, target, segment)
MemoryKey = tuple[str, str, str]
CacheKey = tuple[str, str, str, str]
K = TypeVar("K", MemoryKey, CacheKey)


def _digest(parts: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def memory_digest(source: str, target: str, segment: str) -> str:
    """The memory's store key of one (source, target, segment)."""
    return _digest((source, target, segment))


def _get_many(store: QueueStore, namespace: CacheNamespace, wanted: Iterable[K]) -> dict[K, str]:
    by_digest = {_digest(key): key for key in wanted}
    found = store.cache_get_many(namespace, by_digest)
    return {by_digest[digest]: value for digest, value in found.items()}


class TranslationMemory:
    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def recall(self, source: str, target: str, segment: str) -> str | None:
        """A translator's translation of this exact segment, if any."""
        return self.store.cache_get(MEMORY, _digest((source, target, segment)))

    def recall_many(self, wanted: Iterable[MemoryKey]) -> dict[MemoryKey, str]:
        """The translator's translations of those (source, target, segment) that have one."""
        return _get_many(self.store, MEMORY, wanted)

    def remember(self, source: str, target: str, segment: str, translation: str) -> None:
        self.remember_many({(source, target, segment): translation})

    def remember_many(self, items: Mapping[MemoryKey, str]) -> None:
        self.store.cache_set_many(MEMORY, {_digest(k): v for k, v in items.items()})

    def cached(self, model_id: str, source: str, target: str, segment: str) -> str | None:
        return self.store.cache_get(CACHE, _digest((model_id, source, target, segment)))

    def cached_many(self, wanted: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """What the models produced before for those (model id, source, target, segment)."""
        return _get_many(self.store, CACHE, wanted)

    def cache(
        self, model_id: str, source: str, target: str, segment: str, translation: str
    ) -> None:
        self.cache_many({(model_id, source, target, segment): translation})

    def cache_many(self, items: Mapping[CacheKey, str]) -> None:
        self.store.cache_set_many(CACHE, {_digest(k): v for k, v in items.items()})
