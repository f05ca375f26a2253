"""Near-duplicate floods: MinHash/LSH over recent contributions, with stable cluster ids.

A copy-paste campaign (the same comment with small edits, from many accounts) forms one
cluster, so a moderator can act on the whole flood at once. The index keeps the most recent
``window`` contributions of this worker in memory.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class FloodMatch:
    cluster_id: str | None
    size: int
    joined: tuple[str, ...] = ()  # earlier contributions that joined the cluster just now


def _shingles(text: str, size: int = 5) -> set[bytes]:
    """Character 5-grams of the normalised words: robust to small edits of short texts."""
    compact = " ".join(w.casefold() for w in _TOKEN.findall(text))
    return {compact[i : i + size].encode() for i in range(max(1, len(compact) - size + 1))}


class FloodDetector:
    """Assigns each text to a cluster of near-duplicates (Jaccard ≥ ``similarity``)."""

    def __init__(
        self,
        similarity: float = 0.7,
        *,
        num_perm: int = 64,
        window: int = 20_000,
        min_tokens: int = 4,
    ) -> None:
        self.num_perm = num_perm
        self.window = window
        self.min_tokens = min_tokens
        self._lsh = MinHashLSH(threshold=similarity, num_perm=num_perm)
        self._recent: OrderedDict[str, str | None] = OrderedDict()  # key → cluster id
        self._sizes: dict[str, int] = {}
        # Indexes that keep every step independent of the window's size.
        self._members: dict[str, dict[str, None]] = {}  # cluster id → its keys, in order
        self._versions: dict[str, list[str]] = {}  # "id#" stem → keys of its versions
        template = MinHash(num_perm=num_perm, seed=7)
        self._permutations, self._scheme = template.permutations, template.scheme

    def _minhash(self, text: str) -> MinHash:
        sketch = MinHash(
            num_perm=self.num_perm,
            seed=7,
            permutations=self._permutations,
            scheme=self._scheme,  # type: ignore[arg-type]
        )
        sketch.update_batch(list(_shingles(text)))
        return sketch

    @staticmethod
    def _stem(key: str) -> str:
        return key.rsplit("#", 1)[0] + "#"

    def _assign(self, key: str, cluster: str | None) -> None:
        previous = self._recent.get(key)
        if previous is not None:
            self._members.get(previous, {}).pop(key, None)
        self._recent[key] = cluster
        if cluster is not None:
            self._members.setdefault(cluster, {})[key] = None

    def _drop(self, key: str) -> str | None:
        cluster = self._recent.pop(key)
        self._lsh.remove(key)
        if cluster is not None:
            members = self._members.get(cluster, {})
            members.pop(key, None)
            if not members:
                self._members.pop(cluster, None)
        versions = self._versions.get(self._stem(key), [])
        if key in versions:
            versions.remove(key)
        if not versions:
            self._versions.pop(self._stem(key), None)
        return cluster

    def add(self, key: str, text: str) -> FloodMatch:
        if len(_TOKEN.findall(text)) < self.min_tokens:
            return FloodMatch(None, 0)  # "+1" and "Agreed!" are not a flood
        if key in self._recent:
            cluster = self._recent[key]
            return FloodMatch(cluster, self._sizes.get(cluster, 0) if cluster else 0)
        self._forget_versions(key)
        sketch = self._minhash(text)
        neighbours = [n for n in self._lsh.query(sketch) if n in self._recent]
        self._lsh.insert(key, sketch)
        self._recent[key] = None
        self._versions.setdefault(self._stem(key), []).append(key)
        try:
            return self._cluster(key, neighbours)
        finally:
            self._evict()

    def _cluster(self, key: str, neighbours: list[str]) -> FloodMatch:
        if not neighbours:
            return FloodMatch(None, 0)
        clusters = list(dict.fromkeys(c for n in neighbours if (c := self._recent[n])))
        if clusters:  # join the largest; clusters this text bridges merge into it
            cluster = max(clusters, key=lambda c: self._sizes.get(c, 0))
        else:
            cluster = "c-" + hashlib.sha1(neighbours[0].encode()).hexdigest()[:8]
        moved = [m for c in clusters if c != cluster for m in self._members.get(c, {})]
        joined = tuple(n for n in neighbours if self._recent[n] is None) + tuple(moved)
        for member in (*joined, key):
            self._assign(member, cluster)
        for merged in clusters:
            if merged != cluster:
                self._sizes.pop(merged, None)
        self._sizes[cluster] = self._sizes.get(cluster, 0) + len(joined) + 1
        return FloodMatch(cluster, self._sizes[cluster], joined)

    def _forget_versions(self, key: str) -> None:
        """An edit is not a duplicate of its own earlier version: drop ``id#<older>`` keys."""
        for old in list(self._versions.get(self._stem(key), [])):
            cluster = self._drop(old)
            if cluster is not None:
                self._sizes[cluster] = max(0, self._sizes.get(cluster, 1) - 1)

    def members(self, cluster_id: str) -> tuple[str, ...]:
        """Keys of the recent contributions in a cluster."""
        return tuple(self._members.get(cluster_id, {}))

    def _evict(self) -> None:
        while len(self._recent) > self.window:
            self._drop(next(iter(self._recent)))
