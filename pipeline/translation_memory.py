"""Translation memory and machine-translation cache, both in the store's cache namespace.

* **memory** (``tm:<source>:<target>``): segments a translator corrected. Reused from then on,
  before any model, and marked ``memory`` in events and exports.
* **cache** (``mt:<model id>:<source>:<target>``): what a model produced for a segment.
  An identical segment (a copy-paste campaign, an unchanged sentence of an edited
  contribution) is never translated twice by the same model.

Keys are SHA-256 digests of the exact segment text, so any text length is fine.
"""

from __future__ import annotations

import hashlib

from pipeline.store.base import QueueStore


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationMemory:
    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def recall(self, source: str, target: str, segment: str) -> str | None:
        """A translator's translation of this exact segment, if any."""
        return self.store.cache_get(f"tm:{source}:{target}", _digest(segment))

    def remember(self, source: str, target: str, segment: str, translation: str) -> None:
        self.store.cache_set(f"tm:{source}:{target}", _digest(segment), translation)

    def cached(self, model_id: str, source: str, target: str, segment: str) -> str | None:
        return self.store.cache_get(f"mt:{model_id}:{source}:{target}", _digest(segment))

    def cache(
        self, model_id: str, source: str, target: str, segment: str, translation: str
    ) -> None:
        self.store.cache_set(f"mt:{model_id}:{source}:{target}", _digest(segment), translation)
