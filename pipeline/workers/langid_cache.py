"""A bounded memo of language results by text and hint, for the langid stage.

Contributions repeat (floods, copy-pasted petitions, replays): a text seen before gets the
result the detector gave it, without asking the detector again. The detector is deterministic
for a given ``(text, hint)``, so the memo changes no answer. Short texts are keyed by
themselves, longer ones by a 128-bit BLAKE2b digest, so memory stays bounded by ``capacity``
entries of at most :data:`INLINE_KEY_CHARS` characters. When full, the oldest entry goes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["INLINE_KEY_CHARS", "ResultCache"]

INLINE_KEY_CHARS = 256
V = TypeVar("V")


def _key(text: str, hint: str | None) -> Hashable:
    if len(text) <= INLINE_KEY_CHARS:
        return (text, hint)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return (digest, hint)


class ResultCache(Generic[V]):
    """``get``/``put`` by ``(text, hint)``; ``capacity`` 0 disables it."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._entries: dict[Hashable, V] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str, hint: str | None) -> V | None:
        if not self.capacity:
            return None
        value = self._entries.get(_key(text, hint))
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, text: str, hint: str | None, value: V) -> None:
        if not self.capacity:
            return
        entries = self._entries
        if len(entries) >= self.capacity:
            del entries[next(iter(entries))]
        entries[_key(text, hint)] = value
