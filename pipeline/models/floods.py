"""Near-duplicate floods: MinHash signatures cut into LSH bands.

A copy-paste campaign (the same comment with small edits, from many accounts) forms one
cluster, so a moderator can act on the whole flood at once. This module is the pure part: a
text's MinHash signature (character 5-grams, ``num_perm`` permutations) cut into the bands of
an LSH index tuned for Jaccard ``similarity`` (the same banding as datasketch's
``MinHashLSH``). Texts that share a band are near-duplicate candidates. The index itself, the
clusters and the window of recent contributions live in the shared scorer state
(:mod:`pipeline.store.scorer_state`), so every scorer replica and restart sees one index.
"""

from __future__ import annotations

import hashlib
import re

from datasketch import MinHash, MinHashLSH

_TOKEN = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, size: int = 5) -> set[bytes]:
    """Character 5-grams of the normalised words: robust to small edits of short texts."""
    compact = " ".join(w.casefold() for w in _TOKEN.findall(text))
    return {compact[i : i + size].encode() for i in range(max(1, len(compact) - size + 1))}


class FloodDetector:
    """LSH band keys of a text: texts sharing a band are near-duplicates (Jaccard ≥ similarity).

    ``window`` is the number of recent contributions the shared index keeps.
    """

    def __init__(
        self,
        similarity: float = 0.7,
        *,
        num_perm: int = 64,
        window: int = 20_000,
        min_tokens: int = 4,
    ) -> None:
        self.similarity = similarity
        self.num_perm = num_perm
        self.window = window
        self.min_tokens = min_tokens
        lsh = MinHashLSH(threshold=similarity, num_perm=num_perm)
        self.band_count, self.rows = lsh.b, lsh.r
        template = MinHash(num_perm=num_perm, seed=7)
        self._permutations, self._scheme = template.permutations, template.scheme

    def features(self, text: str) -> set[bytes]:
        """What two texts' Jaccard similarity is measured on."""
        return _shingles(text)

    def _minhash(self, text: str) -> MinHash:
        sketch = MinHash(
            num_perm=self.num_perm,
            seed=7,
            permutations=self._permutations,
            scheme=self._scheme,
        )
        sketch.update_batch(list(self.features(text)))
        return sketch

    def bands(self, text: str) -> tuple[str, ...] | None:
        """``"<band>:<hash>"`` for each LSH band; None for texts too short to be a flood."""
        if len(_TOKEN.findall(text)) < self.min_tokens:
            return None  # "+1" and "Agreed!" are not a flood
        values = self._minhash(text).hashvalues.astype("<u8")
        rows = self.rows
        return tuple(
            f"{b}:{_digest(values[b * rows : (b + 1) * rows].tobytes())}"
            for b in range(self.band_count)
        )


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()
