"""The scorer's shared memory: author counts, burst windows and the near-duplicate index.

Every scorer replica and every restart sees the same state, so a flood spread over all
partitions forms one cluster and an author's burst counts across partitions. One call of
:meth:`ScorerState.observe` handles a whole poll batch in one atomic step (one Redis script
call, one SQLite transaction): for each contribution version, in order,

1. if its key was observed before (a replay), the facts recorded then are returned unchanged;
2. otherwise the author's count of earlier contributions is read and incremented;
3. its creation time joins the author's burst window (``burst_window_ms``, event time);
4. when it has LSH bands (long enough to be a flood), earlier versions of the same contribution
   leave the index (an edit is no duplicate of itself), its band-sharing neighbours are looked
   up and it is inserted; with neighbours it joins the largest of their clusters (clusters it
   bridges merge into it) or founds one named after the earliest neighbour
   (``c-`` + the first 8 hex digits of that key's SHA-1), so cluster ids are deterministic;
5. the index keeps the most recent ``flood_window`` members, the replay records as many keys.

``notify`` lists the other members whose ``ContributionScored`` cluster update is due: all of
them when the cluster reaches ``flood_min_size`` with this member, otherwise those that joined
just now. Because replays return the recorded facts, a replayed event emits the same outputs.

This state is the scorer's working memory, not a projection of the queue: ``store.clear()``
leaves it alone and ``hemicycle rebuild`` neither needs nor touches it (rebuild replays the
scores already on the log into triage; the scorer is not re-run). Its size is bounded by the
policy's window; author counts are one integer per author.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.policy import SpamPolicy
    from pipeline.store.base import QueueStore


@dataclass(frozen=True)
class ScorerLimits:
    """The policy's bounds on the state."""

    flood_window: int = 20_000
    flood_min_size: int = 5
    burst_window_ms: int = 600_000

    @classmethod
    def of(cls, spam: SpamPolicy) -> ScorerLimits:
        return cls(spam.flood_window, spam.flood_min_size, spam.burst_window_s * 1000)


@dataclass(frozen=True)
class Observation:
    """One contribution version as the scorer sees it."""

    key: str  # "<contribution_id>#<version>": see member_key
    author: str
    at_ms: int  # the contribution's creation time, epoch milliseconds
    bands: tuple[str, ...] | None = None  # LSH band keys; None when too short to be a flood


@dataclass(frozen=True)
class Facts:
    """What the shared state says about one observation (recorded, so replays agree)."""

    prior_contributions: int
    burst_count: int  # the author's contributions in the burst window, this one included
    cluster_id: str | None = None
    cluster_size: int = 0
    notify: tuple[str, ...] = field(default=())  # member keys owed a cluster update


def member_key(contribution_id: str, version: int) -> str:
    return f"{contribution_id}#{version}"


def split_member_key(key: str) -> tuple[str, int]:
    """Inverse of :func:`member_key` (the version is the part after the last ``#``)."""
    cid, version = key.rsplit("#", 1)
    return cid, int(version)


def stem_of(key: str) -> str:
    """What all versions of one contribution share."""
    return key.rsplit("#", 1)[0] + "#"


def cluster_name(first_member: str) -> str:
    return "c-" + hashlib.sha1(first_member.encode()).hexdigest()[:8]


class ScorerState(ABC):
    """Shared scorer state; every implementation passes tests/contract/test_scorer_state.py."""

    def __init__(self, limits: ScorerLimits) -> None:
        self.limits = limits

    @abstractmethod
    def observe(self, observations: Sequence[Observation]) -> list[Facts]:
        """Facts for each observation, in order, in one atomic step (see the module doc)."""

    @abstractmethod
    def members(self, cluster_id: str) -> tuple[str, ...]:
        """Keys of the indexed members of a cluster, oldest first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the state opened itself (never the store's own connection)."""


def open_scorer_state(
    store: QueueStore | None, limits: ScorerLimits, name: str = "scorer"
) -> ScorerState:
    """The state kept with ``store`` (in Redis, or a SQLite file next to the embedded store's);
    in memory without a store. ``name`` keeps apart indexes that must not mix (the flood
    index, ``scorer``, and the cross-language campaign index, ``campaign``)."""
    from pipeline.store.scorer_state_sqlite import SqliteScorerState

    if store is None:
        return SqliteScorerState.in_memory(limits)
    from pipeline.store.embedded import EmbeddedStore

    if isinstance(store, EmbeddedStore):
        return SqliteScorerState.beside(store, limits, name)
    from pipeline.store.redis import RedisStore

    if isinstance(store, RedisStore):
        from pipeline.store.scorer_state_redis import RedisScorerState

        # Under "scorer:" whatever the name: store.clear() keeps that namespace (not a projection).
        space = "scorer:" if name == "scorer" else f"scorer:{name}:"
        return RedisScorerState(store._redis, store.prefix + space, limits)
    raise TypeError(f"no scorer state for a {type(store).__name__}")


def encode_facts(facts: Facts) -> str:
    """The recorded form of :class:`Facts` (the Redis script writes the same keys)."""
    return json.dumps(
        {
            "p": facts.prior_contributions,
            "u": facts.burst_count,
            "c": facts.cluster_id or "",
            "n": facts.cluster_size,
            "j": list(facts.notify),
        },
        separators=(",", ":"),
    )


def facts_from_json(doc: str | bytes) -> Facts:
    """Facts from their recorded JSON (Redis's cjson writes an empty list as ``{}``)."""
    raw = json.loads(doc)
    notify = raw.get("j")
    return Facts(
        prior_contributions=int(raw["p"]),
        burst_count=int(raw["u"]),
        cluster_id=raw.get("c") or None,
        cluster_size=int(raw.get("n", 0)),
        notify=tuple(notify) if isinstance(notify, list) else (),
    )
