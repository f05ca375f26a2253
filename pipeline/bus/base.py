"""The bus interface: publish keyed records, consume them in groups, commit offsets.

Semantics shared by every implementation (the contract suite in ``tests/contract`` checks them):

* a topic has a fixed number of partitions; a record's partition is chosen from its key, so
  all records of one contribution stay ordered in one partition;
* :meth:`Producer.flush` returns only once every record published before it is durable
  ("acknowledged"); a worker flushes its outputs *before* committing its inputs;
* consumers of one group share the partitions of the topics they subscribe to; a partition's
  records are delivered in offset order, starting at the group's committed offset;
* records polled but not committed are delivered again to the group after a crash or a
  rebalance (at-least-once); handlers are idempotent.

Error hierarchy (transient vs permanent, as httpx draws its own)::

    BusError
    ├── BusUnavailable   transient: broker down, timeout — retry with backoff
    └── BusConfigError   permanent: bad topic, bad settings — stop with a clear message
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class BusError(Exception):
    """Base of bus failures."""


class BusUnavailable(BusError):
    """Transient failure: the bus cannot be reached now; retrying may succeed."""


class BusConfigError(BusError):
    """Permanent failure: the bus is misconfigured for this request."""


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed record. ``offset`` is its position in ``(topic, partition)``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    timestamp_ms: int = 0

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Consumer lag of one group on one partition."""

    topic: str
    partition: int
    committed: int
    high_watermark: int

    @property
    def lag(self) -> int:
        return max(0, self.high_watermark - self.committed)


class Producer(ABC):
    @abstractmethod
    def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue one record; it is durable only after :meth:`flush`."""

    @abstractmethod
    def flush(self) -> None:
        """Block until every queued record is acknowledged; raise :class:`BusError` if not."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""


class Consumer(ABC):
    @abstractmethod
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most ``timeout_s`` for the first.

        Calling ``poll`` again declares the records returned before as processed: if the
        group rebalances during this call, their offsets are committed before the partitions
        move to another member (commit on revocation).
        """

    @abstractmethod
    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit next-offsets to read (default: the position after everything polled)."""

    @abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """Partitions this consumer owns now."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group (without committing) so others take over promptly."""


class Bus(ABC):
    """Factory of producers and consumers, and the admin view used by ``hemicycle status``."""

    @abstractmethod
    def ensure_topics(self, topics: Iterable[str], partitions: int) -> None:
        """Create missing topics with their final partition count (idempotent)."""

    @abstractmethod
    def producer(self) -> Producer: ...

    @abstractmethod
    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    @abstractmethod
    def topic_counts(self, topics: Sequence[str] | None = None) -> dict[str, int]:
        """Records ever published per topic (sum of high watermarks); default: every topic."""

    @abstractmethod
    def lag(self, group: str, topics: Sequence[str]) -> list[PartitionLag]: ...

    @abstractmethod
    def read(
        self, topic: str, *, from_start: bool = True, limit: int | None = None
    ) -> list[Record]:
        """Read records of a topic outside any group (inspection, replay)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def total_lag(lags: Iterable[PartitionLag]) -> int:
    return sum(item.lag for item in lags)


def as_key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key
