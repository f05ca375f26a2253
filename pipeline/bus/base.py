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
    ├── BusConfigError   permanent: bad topic, bad settings — stop with a clear message
    └── RecordsRefused   permanent for some records only (too large, invalid): the others
                         are durable; the caller decides what becomes of the refused ones

Every producer refuses a record larger than :data:`MAX_RECORD_BYTES` (key, value and
headers), the embedded bus as Kafka does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.errors import HemicycleError, PermanentError, TransientError


class BusError(HemicycleError):
    """Base of bus failures."""


class BusUnavailable(BusError, TransientError):
    """Transient failure: the bus cannot be reached now; retrying may succeed."""


class BusConfigError(BusError, PermanentError):
    """Permanent failure: the bus is misconfigured for this request."""


class RecordsRefused(BusError, PermanentError):
    """The bus refused some records for what they are; every other record is durable.

    ``refused`` maps the position of each refused record among the records published since
    the previous successful :meth:`Producer.flush` (0 = the first) to the reason. Retrying
    those records can never succeed; nothing else needs retrying.
    """

    def __init__(self, refused: Mapping[int, str]) -> None:
        self.refused = dict(sorted(refused.items()))
        first = next(iter(self.refused.values()), "")
        super().__init__(f"{len(self.refused)} record(s) refused: {first}")


MAX_RECORD_BYTES = 4 * 1024 * 1024
"""Largest record (key + value + headers) any Hemicycle producer sends: Kafka's request limit."""


def record_bytes(key: bytes | None, value: bytes, headers: Mapping[str, str] | None) -> int:
    """Size of a record as the embedded bus counts it against :data:`MAX_RECORD_BYTES`."""
    head = sum(len(k.encode()) + len(v.encode()) for k, v in (headers or {}).items())
    return len(key or b"") + len(value) + head


def too_large(size: int, limit: int) -> str:
    """The reason given for a record refused by size."""
    return f"record of {size} bytes is larger than the bus's limit of {limit} bytes"


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


class Replay:
    """Every record of some topics from the start up to the high watermarks read when the
    replay was opened, streamed once (records published later are not included).

    ``total`` is how many records the iteration yields (the sum over partitions of the high
    watermark minus the start offset); ``ends`` holds those high watermarks. Records of one
    partition come in offset order; partitions and topics interleave freely.
    """

    def __init__(
        self, total: int, ends: Mapping[TopicPartition, int], records: Iterator[Record]
    ) -> None:
        self.total = total
        self.ends = dict(ends)
        self._records = records

    def __iter__(self) -> Iterator[Record]:
        return self._records


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
        """Block until every queued record is acknowledged; raise :class:`BusError` if not.

        Records refused for what they are (too large) raise :class:`RecordsRefused` once all
        the others are durable; a transient failure raises :class:`BusUnavailable` instead.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""


class Consumer(ABC):
    @abstractmethod
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most ``timeout_s`` for the first
        (a consumer that must join its group first waits for the join, up to the session
        timeout).

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

    def join(self, timeout_s: float) -> None:  # noqa: B027 - optional hook
        """Wait, up to ``timeout_s``, until this consumer holds its share of the partitions
        (a no-op where there is no group protocol). :func:`~pipeline.workers.runner.run_until`
        joins all the groups of a process at once before its first poll."""


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
        """Read records of a topic outside any group (inspection), in memory: small topics."""

    @abstractmethod
    def replay(self, topics: Sequence[str]) -> Replay:
        """Stream every partition of ``topics`` outside any group, in bounded memory and with
        no time cap, up to the high watermarks read now; :class:`BusUnavailable` if the bus
        cannot be reached (never a short result)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def total_lag(lags: Iterable[PartitionLag]) -> int:
    return sum(item.lag for item in lags)


def as_key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key
