"""Dynamic batching: which segments go to a model together, decided without touching a model.

The batcher is pure logic (the habit of vLLM's scheduler): callers :meth:`DynamicBatcher.add`
fabricated or real :class:`BatchRequest` objects and ask which :class:`Batch` objects to run
*now*; the model runner lives elsewhere. The budget is an explicit, validated
:class:`BatchBudget`. Time is always passed in (``now``), so every decision is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One segment waiting for a model.

    ``key`` says what may share a batch (e.g. ``(model_id, source, target)``, or
    ``(model_id, source)`` for a many-to-many model); ``item`` is the caller's id for the
    segment, used to map results back; ``tokens`` is its source length in tokens (``>= 0``);
    ``arrived`` is when it was added, in monotonic seconds.
    """

    key: Hashable
    item: Hashable
    tokens: int
    arrived: float

    def __post_init__(self) -> None:
        if isinstance(self.tokens, bool) or not isinstance(self.tokens, int) or self.tokens < 0:
            raise ValueError(f"tokens must be an int >= 0, got {self.tokens!r}")
        if not math.isfinite(self.arrived):
            raise ValueError(f"arrived must be a finite number, got {self.arrived!r}")


class BatchBudget(BaseModel):
    """The limits of one batch, and how long a request may wait for company."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(
        4096,
        ge=1,
        description="Padded tokens per batch: len(batch) * the longest request in it. A single "
        "request longer than this still runs, alone.",
    )
    max_items: int = Field(64, ge=1, description="Requests per batch.")
    max_wait_s: float = Field(
        0.05,
        ge=0,
        allow_inf_nan=False,
        description="Seconds the oldest request of a group may wait before its group is flushed "
        "in batches that are not full.",
    )


@dataclass(frozen=True)
class Batch:
    """Requests that run together: one key, sorted by tokens (ascending) so padding is minimal."""

    key: Hashable
    requests: tuple[BatchRequest, ...]

    @property
    def padded_tokens(self) -> int:
        """Tokens the model processes once the batch is padded: ``len * longest``."""
        return len(self.requests) * max((r.tokens for r in self.requests), default=0)


# (tokens, arrived, insertion number, request): sorting these orders a group by tokens, with
# ties broken by arrival and then by insertion, so every decision is deterministic.
_Entry = tuple[int, float, int, BatchRequest]


class _Group:
    """The pending requests of one key."""

    __slots__ = ("entries", "is_sorted", "oldest")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.is_sorted = True
        self.oldest: tuple[float, int] = (math.inf, 0)  # (arrived, insertion number)

    def add(self, entry: _Entry) -> None:
        if self.entries and entry[:3] < self.entries[-1][:3]:
            self.is_sorted = False
        self.entries.append(entry)
        self.oldest = min(self.oldest, (entry[1], entry[2]))

    def sorted_entries(self) -> list[_Entry]:
        if not self.is_sorted:
            self.entries.sort(key=lambda e: e[:3])  # timsort: cheap on a sorted run + a tail
            self.is_sorted = True
        return self.entries

    def keep(self, entries: list[_Entry]) -> None:
        """Replace the pending entries by ``entries`` (a sorted subsequence)."""
        self.entries = entries
        self.oldest = min(((e[1], e[2]) for e in entries), default=(math.inf, 0))


class DynamicBatcher:
    """Groups pending requests into batches under a :class:`BatchBudget`; no model inside.

    The contract:

    1. **Grouping.** Requests are grouped by ``key``; no batch ever mixes keys.
    2. **Order inside a group.** A group is sorted by ``tokens`` (ascending), ties broken by
       ``arrived`` and then by the order of :meth:`add` calls. Every batch lists its requests
       in that order, so padding is minimal and every decision is deterministic.
    3. **Cutting.** A sorted group is cut greedily: the next request joins the current batch
       while ``len(batch) + 1 <= max_items`` and ``(len(batch) + 1) * its tokens <= max_tokens``
       (it is the longest so far, as the group is sorted); otherwise it starts the next batch.
       A request longer than ``max_tokens`` therefore runs alone in its own batch; it is never
       dropped.
    4. **Full batches go at once.** A batch is *full* when no further request of any length
       could join it: it holds ``max_items`` requests, or ``(len + 1) * longest > max_tokens``.
       :meth:`ready` returns every full batch of the cut, whatever the wait, as often as a group
       fills one; the requests of batches that are not full stay pending.
    5. **Waiting is bounded.** When the oldest pending request of a group has waited
       ``now - arrived >= max_wait_s``, :meth:`ready` flushes the whole group: every batch of
       its cut, full or not.
    6. **Order of the answer.** Full batches first, then the not-full batches of flushed
       groups; in each part, groups oldest first (by their oldest pending request: arrival,
       then insertion order), and within a group in cut order (shortest requests first).
    7. **Exactly once.** Each added request appears in exactly one returned batch; returned
       requests are no longer pending. :meth:`drain` flushes everything, as :meth:`ready`
       would at an infinitely late ``now``.

    Cost: :meth:`add` is O(1); :meth:`ready` is O(n log n) in the pending requests (a sort of
    the groups that received requests since the last call, then one linear pass).
    """

    def __init__(self, budget: BatchBudget) -> None:
        self.budget = budget
        self._groups: dict[Hashable, _Group] = {}
        self._added = 0
        self._pending = 0

    def add(self, request: BatchRequest) -> None:
        """Queue ``request``; it will come back in exactly one batch."""
        group = self._groups.get(request.key)
        if group is None:
            group = self._groups[request.key] = _Group()
        group.add((request.tokens, request.arrived, self._added, request))
        self._added += 1
        self._pending += 1

    def pending(self) -> int:
        """How many added requests have not been returned in a batch yet."""
        return self._pending

    def deadline(self) -> float | None:
        """The earliest ``now`` at which some group will be flushed (``None`` when empty)."""
        if not self._groups:
            return None
        return min(g.oldest[0] for g in self._groups.values()) + self.budget.max_wait_s

    def ready(self, now: float) -> list[Batch]:
        """The batches to run at time ``now`` (monotonic seconds); see the class contract."""
        full: list[tuple[tuple[float, int], int, Batch]] = []
        flushed: list[tuple[tuple[float, int], int, Batch]] = []
        for key in list(self._groups):
            group = self._groups[key]
            oldest = group.oldest
            expired = now - oldest[0] >= self.budget.max_wait_s
            entries = group.sorted_entries()
            kept: list[_Entry] = []
            for n, (lo, hi) in enumerate(self._cut(entries)):
                part = entries[lo:hi]
                if self._is_full(part):
                    full.append((oldest, n, self._batch(key, part)))
                elif expired:
                    flushed.append((oldest, n, self._batch(key, part)))
                else:
                    kept.extend(part)
            self._pending -= len(entries) - len(kept)
            if kept:
                group.keep(kept)
            else:
                del self._groups[key]
        full.sort(key=lambda t: t[:2])
        flushed.sort(key=lambda t: t[:2])
        return [t[2] for t in full] + [t[2] for t in flushed]

    def drain(self) -> list[Batch]:
        """Flush every pending request (end of input), in the order of :meth:`ready`."""
        return self.ready(math.inf)

    def _cut(self, entries: list[_Entry]) -> list[tuple[int, int]]:
        """Greedy cut of a sorted group into ``[lo, hi)`` ranges within the budget."""
        max_items, max_tokens = self.budget.max_items, self.budget.max_tokens
        cuts: list[tuple[int, int]] = []
        lo = 0
        for i, entry in enumerate(entries):
            size = i - lo
            if size and (size + 1 > max_items or (size + 1) * entry[0] > max_tokens):
                cuts.append((lo, i))
                lo = i
        if lo < len(entries):
            cuts.append((lo, len(entries)))
        return cuts

    def _is_full(self, part: list[_Entry]) -> bool:
        """No further request, however short, could join ``part`` (sorted, non-empty)."""
        size = len(part)
        return size >= self.budget.max_items or (size + 1) * part[-1][0] > self.budget.max_tokens

    @staticmethod
    def _batch(key: Hashable, part: list[_Entry]) -> Batch:
        return Batch(key, tuple(e[3] for e in part))
