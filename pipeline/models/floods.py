"""Near-duplicate floods: MinHash signatures cut into LSH bands.

A copy-paste campaign (the same comment with small edits, from many accounts) forms one
cluster, so a moderator can act on the whole flood at once. This module is the pure part: a
text's MinHash signature (character 5-grams, ``num_perm`` permutations) cut into the bands of
an LSH index tuned for Jaccard ``similarity``. Texts that share a band are near-duplicate
candidates. The index itself, the clusters and the window of recent contributions live in the
shared scorer state (:mod:`pipeline.store.scorer_state`), so every scorer replica and restart
sees one index.

Band keys are shared state: every replica, every restart and every version must compute the
same keys for the same text, or one flood splits into several clusters. So the hashing is
written out here rather than borrowed from a library whose defaults change between releases.
It is the ``affine32`` scheme of datasketch 2 (SHA-1's first 32 bits, the MurmurHash3
finaliser, then ``a·h + b mod 2³²`` with odd ``a``; parameters from ``RandomState(7)``) and
``MinHashLSH``'s choice of bands and rows, so keys stored by earlier releases stay valid;
tests/unit/test_floods.py checks both bit for bit against datasketch where it is installed.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, lru_cache

import numpy as np

_TOKEN = re.compile(r"\w+", re.UNICODE)
_SEED = 7


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
        self.band_count, self.rows = lsh_shape(similarity, num_perm)
        self._a, self._b = _permutations(num_perm)
        # A flood is often the very same text many times: its keys are computed once.
        self._bands = lru_cache(maxsize=4096)(self._compute_bands)

    def features(self, text: str) -> set[bytes]:
        """What two texts' Jaccard similarity is measured on."""
        return _shingles(text)

    def signature(self, text: str) -> np.ndarray:
        """The text's MinHash signature: ``num_perm`` unsigned 32-bit minima."""
        digests = b"".join(hashlib.sha1(f).digest()[:4] for f in self.features(text))
        hashed = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
        permuted = hashed[:, None] * self._a + self._b  # wraps modulo 2**32, as intended
        return permuted.min(axis=0)  # type: ignore[no-any-return]

    def bands(self, text: str) -> tuple[str, ...] | None:
        """``"<band>:<hash>"`` for each LSH band; None for texts too short to be a flood."""
        return self._bands(text)

    def _compute_bands(self, text: str) -> tuple[str, ...] | None:
        if len(_TOKEN.findall(text)) < self.min_tokens:
            return None  # "+1" and "Agreed!" are not a flood
        values = self.signature(text).astype("<u8")
        rows = self.rows
        return tuple(
            f"{b}:{_digest(values[b * rows : (b + 1) * rows].tobytes())}"
            for b in range(self.band_count)
        )


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser: spreads structured hash values before the permutations."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))  # type: ignore[no-any-return]


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``h -> a·h + b mod 2³²`` (odd ``a``: each is a bijection)."""
    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@cache
def lsh_shape(similarity: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives plus false negatives around ``similarity``.

    Two texts of Jaccard similarity ``s`` share at least one of ``b`` bands of ``r`` rows with
    probability ``1 - (1 - s^r)^b``. The error weighs equally the area under that curve below
    the threshold (false positives) and the area above it that it misses (false negatives).
    Both are integrals of polynomials of degree ``b·r ≤ num_perm``, which Gauss-Legendre
    quadrature with ``num_perm // 2 + 1`` nodes computes exactly.
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)

    def integral(low: float, high: float, b: int, r: int, miss: bool) -> float:
        s = (high - low) / 2 * nodes + (high + low) / 2
        caught = 1 - (1 - s**r) ** b
        return float((high - low) / 2 * np.dot(weights, 1 - caught if miss else caught))

    best, shape = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            error = 0.5 * integral(0.0, similarity, b, r, False) + 0.5 * integral(
                similarity, 1.0, b, r, True
            )
            if error < best:
                best, shape = error, (b, r)
    return shape
