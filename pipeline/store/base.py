"""The store interface: queue items, written atomically and idempotently by triage.

Every implementation passes ``tests/contract/test_store_contract.py``. The rule that makes
at-least-once delivery effectively-once: :meth:`QueueStore.save` records the ``event_id`` it
applied in the same atomic step as the item, and refuses an event it has already applied.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from enum import Enum
from typing import Literal

from pipeline.schemas.queue import QueueItem

Order = Literal["priority", "oldest"]


class StoreError(Exception):
    """Base of store failures."""


class StoreUnavailable(StoreError):
    """Transient: the store cannot be reached now; retrying may succeed."""


class SaveResult(Enum):
    SAVED = "saved"
    DUPLICATE = "duplicate"  # this event was applied before: nothing changed
    CONFLICT = "conflict"  # the item changed since it was read: re-read and retry


class QueueStore(ABC):
    @abstractmethod
    def get(self, contribution_id: str) -> QueueItem | None: ...

    @abstractmethod
    def save(self, item: QueueItem, *, event_id: str, expected_revision: int) -> SaveResult:
        """Atomically write ``item`` as revision ``expected_revision + 1``.

        ``expected_revision`` is the revision read (0 for a new item). Returns DUPLICATE
        without writing if ``event_id`` was applied before, CONFLICT if the stored revision
        differs. On SAVED, ``event_id`` is recorded as applied.
        """

    @abstractmethod
    def mark_applied(self, event_id: str) -> bool:
        """Record an event that changed nothing (e.g. stale); False if already recorded."""

    @abstractmethod
    def was_applied(self, event_id: str) -> bool: ...

    @abstractmethod
    def list_items(
        self,
        *,
        state: str | None = None,
        language: str | None = None,
        order: Order = "priority",
        limit: int = 50,
        offset: int = 0,
    ) -> list[QueueItem]:
        """Items of a state (and language), highest priority first or oldest first."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of items per state (states with no item are omitted)."""

    @abstractmethod
    def iter_items(self) -> Iterator[QueueItem]:
        """Every item, ordered by contribution id (for export)."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every item, applied-event record and lease (before a rebuild).

        The cache is kept: it holds derived results (translations) that stay valid.
        """

    # Leases: a moderator's claim on an item, expiring after inactivity.

    @abstractmethod
    def claim(self, contribution_id: str, holder: str, ttl_s: float) -> str:
        """Take or renew the lease; return the holder afterwards (``holder`` if granted)."""

    @abstractmethod
    def release(self, contribution_id: str, holder: str) -> bool:
        """Drop the lease if ``holder`` has it; True if it was dropped."""

    @abstractmethod
    def lease_holder(self, contribution_id: str) -> str | None: ...

    # Cache: namespaced key/value (e.g. translations of identical segments).

    @abstractmethod
    def cache_get(self, namespace: str, key: str) -> str | None: ...

    @abstractmethod
    def cache_set(
        self, namespace: str, key: str, value: str, ttl_s: float | None = None
    ) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""
