"""The store interface: queue items, written atomically and idempotently by triage.

Every implementation passes ``tests/contract/test_store_contract.py``. The rule that makes
at-least-once delivery effectively-once: :meth:`QueueStore.save` records the ``event_id`` it
applied in the same atomic step as the item, and refuses an event it has already applied.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pipeline.errors import HemicycleError, TransientError
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.queue import QueueItem, QueueState
from pipeline.store.namespaces import Namespace

Order = Literal["priority", "oldest"]
QueryOrder = Literal["priority", "oldest", "newest"]
UNKNOWN_LANGUAGE = "und"
# Facets every backend indexes for :meth:`QueueStore.query` (name → value of an item).
FACETS = ("space", "kind", "author", "cluster", "reported", "appeal", "parent")
OPEN = "open"


class QueueQuery(BaseModel):
    """A page of the queue: states (any of), exact facets, a score range, an age window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    states: tuple[QueueState, ...] = ()
    language: str | None = Field(None, description='ISO code, or "und" for unidentified.')
    languages: tuple[str, ...] = Field((), description="Any of these (with ``language``).")
    text: str | None = Field(
        None, max_length=500, description="Free text: every word, case and accents ignored."
    )
    space: str | None = None
    kind: str | None = None
    author: str | None = None
    cluster: str | None = None
    reported: str | None = Field(None, description='"open": reports no human has answered.')
    appeal: str | None = Field(None, description='"open": appeals not decided yet.')
    parent: str | None = Field(None, description="Key of the parent: the replies to it.")
    category: str | None = Field(None, description='A toxicity category, or "spam".')
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    max_score: float = Field(1.0, ge=0.0, le=1.0)
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    order: QueryOrder = "priority"
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0)

    def facets(self) -> dict[str, str]:
        return {name: v for name in FACETS if (v := getattr(self, name)) is not None}

    @property
    def filtered(self) -> bool:
        """Whether anything beyond the states narrows the page."""
        return bool(
            self.facets()
            or self.wanted_languages
            or self.words
            or self.category
            or self.created_after
            or self.created_before
        )

    @property
    def wanted_languages(self) -> tuple[str, ...]:
        """``language`` and ``languages`` together, each once."""
        both = ((self.language,) if self.language else ()) + self.languages
        return tuple(dict.fromkeys(both))

    @property
    def words(self) -> list[str]:
        """The search text as the stores index it (:func:`search_tokens`)."""
        return search_tokens(self.text or "")[:MAX_SEARCH_WORDS]


MAX_SEARCH_WORDS = 12
_WORD = re.compile(r"[^\W_]+")


def search_tokens(text: str) -> list[str]:
    """Words of ``text``, lower-case and without accents, each once, in order.

    The same words SQLite's FTS5 ``unicode61 remove_diacritics 2`` tokenizer makes: letters and
    digits split on everything else (so ``decidim-test:c-1`` is ``decidim test c 1``).
    """
    if text.isascii():  # nothing to decompose: the common case, without a pass per letter
        plain = text
    else:
        plain = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
    return list(dict.fromkeys(_WORD.findall(plain.lower())))


def item_search_text(item: QueueItem) -> str:
    """What free-text search finds an item by: ids, title, body and every translation."""
    c = item.contribution
    parts = [item.contribution_id, c.title or "", c.body, *(t.text for t in item.translations)]
    return "\n".join(p for p in parts if p)


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int


def item_facets(item: QueueItem) -> dict[str, str]:
    """The facet values :meth:`QueueStore.query` filters on."""
    c = item.contribution
    facets = {"space": c.space, "kind": c.kind, "author": c.author}
    if item.cluster_id:
        facets["cluster"] = item.cluster_id
    if item.open_reports():
        facets["reported"] = OPEN
    if item.open_appeals():
        facets["appeal"] = OPEN
    if c.parent_id:
        facets["parent"] = contribution_key(c.platform, c.parent_id)
    return facets


def item_categories(item: QueueItem) -> dict[str, float]:
    """Highest score per category (original or translation), plus ``spam``."""
    values: dict[str, float] = {}
    for score in item.scores:
        values[score.category] = max(values.get(score.category, 0.0), score.value)
    if item.spam_score is not None:
        values["spam"] = item.spam_score
    return values


class StoreError(HemicycleError):
    """Base of store failures."""


class StoreUnavailable(StoreError, TransientError):
    """Transient: the store cannot be reached now; retrying may succeed."""


class SaveResult(Enum):
    SAVED = "saved"
    DUPLICATE = "duplicate"  # this event was applied before: nothing changed
    CONFLICT = "conflict"  # the item changed since it was read: re-read and retry


@dataclass(frozen=True)
class Write:
    """One item write of :meth:`QueueStore.save_many` (the arguments of :meth:`QueueStore.save`)."""

    item: QueueItem
    event_id: str
    expected_revision: int
    also_applied: Sequence[str] = ()


class QueueStore(ABC):
    @abstractmethod
    def get(self, contribution_id: str) -> QueueItem | None: ...

    def get_many(self, contribution_ids: Iterable[str]) -> dict[str, QueueItem]:
        """The items that exist among ``contribution_ids`` (one round trip where it can)."""
        found = {cid: self.get(cid) for cid in dict.fromkeys(contribution_ids)}
        return {cid: item for cid, item in found.items() if item is not None}

    @abstractmethod
    def save(
        self,
        item: QueueItem,
        *,
        event_id: str,
        expected_revision: int,
        also_applied: Sequence[str] = (),
    ) -> SaveResult:
        """Atomically write ``item`` as revision ``max(item.revision, expected_revision + 1)``.

        ``expected_revision`` is the revision read (0 for a new item). Returns DUPLICATE
        without writing if ``event_id`` (or any of ``also_applied``: further events folded
        into this write) was applied before, CONFLICT if the stored revision differs. On
        SAVED, every one of those event ids is recorded as applied.
        """

    def save_many(self, writes: Sequence[Write]) -> list[SaveResult]:
        """:meth:`save` for several items (each of a different contribution) at once.

        Each write is checked and made on its own, exactly as :meth:`save` would (one write's
        DUPLICATE or CONFLICT leaves the others alone); backends make them in one transaction
        or one round trip. Results come in the order of ``writes``.
        """
        return [
            self.save(
                w.item,
                event_id=w.event_id,
                expected_revision=w.expected_revision,
                also_applied=w.also_applied,
            )
            for w in writes
        ]

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
    def query(self, query: QueueQuery) -> QueuePage:
        """A filtered, ordered page and the number of matching items.

        The fair order, the same in every view: equal priorities come oldest first
        (``created_at`` ascending), then in contribution-id order; ``newest`` is the exact
        reverse of ``oldest``. Implementations answer from indexes: a page stays fast with
        100,000 items, free-text search included.
        """

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of items per state (states with no item are omitted)."""

    @abstractmethod
    def iter_items(self) -> Iterator[QueueItem]:
        """Every item, ordered by contribution id (for export)."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every item, applied-event record and lease (before a rebuild).

        The cache (derived translations, accounts, sessions, API keys), the audit log and the
        scorer's state (:mod:`pipeline.store.scorer_state`) are kept: they are not projections
        of the event log.
        """

    # Leases: a moderator's claim on an item, expiring after inactivity.

    @abstractmethod
    def claim(self, contribution_id: str, holder: str, ttl_s: float) -> str:
        """Take or renew the lease; return the holder afterwards (``holder`` if granted)."""

    def claim_next(
        self,
        query: QueueQuery,
        holder: str,
        ttl_s: float,
        *,
        exclude: Iterable[str] = (),
    ) -> QueueItem | None:
        """Claim the first item of ``query``'s order that nobody else holds (None if none).

        Two holders never get the same item: each page's candidates are claimed by
        :meth:`claim_first`, one atomic step that skips items leased to someone else.
        """
        skip = set(exclude)
        offset = 0
        while True:
            page = self.query(query.model_copy(update={"offset": offset, "limit": 50}))
            candidates = [i for i in page.items if i.contribution_id not in skip]
            if candidates:
                index = self.claim_first([i.contribution_id for i in candidates], holder, ttl_s)
                if index is not None:
                    return candidates[index]
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return None

    def claim_first(self, contribution_ids: Sequence[str], holder: str, ttl_s: float) -> int | None:
        """Claim the first of ``contribution_ids`` free or already ``holder``'s; its index.

        Backends do it in one atomic step; this default tries each with :meth:`claim`.
        """
        for index, cid in enumerate(contribution_ids):
            if self.claim(cid, holder, ttl_s) == holder:
                return index
        return None

    @abstractmethod
    def release(self, contribution_id: str, holder: str) -> bool:
        """Drop the lease if ``holder`` has it; True if it was dropped."""

    @abstractmethod
    def lease_holder(self, contribution_id: str) -> str | None: ...

    # Audit log: append-only entries (JSON text), read newest first. Kept by ``clear``.

    @abstractmethod
    def audit_append(self, entry: str) -> str:
        """Append one entry; return its id (ids increase with time)."""

    @abstractmethod
    def audit_read(self, *, before: str | None = None, limit: int = 500) -> list[tuple[str, str]]:
        """Entries older than ``before`` (all if None), newest first, as (id, entry)."""

    # Cache: namespaced key/value (e.g. translations of identical segments).

    @abstractmethod
    def cache_get(self, namespace: Namespace, key: str) -> str | None: ...

    @abstractmethod
    def cache_set(
        self, namespace: Namespace, key: str, value: str, ttl_s: float | None = None
    ) -> None: ...

    def cache_add(self, namespace: Namespace, key: str, value: str) -> str:
        """Set ``key`` to ``value`` unless it exists (no expiry); return the value it holds.

        Atomic in every backend: of two processes adding the same key at once, both get the
        first one's value (a data key is created once).
        """
        existing = self.cache_get(namespace, key)
        if existing is not None:
            return existing
        self.cache_set(namespace, key, value)
        return value

    @abstractmethod
    def cache_clear(self, namespace: Namespace) -> None:
        """Remove every key of ``namespace``."""

    def cache_delete(self, namespace: Namespace, keys: Iterable[str]) -> None:
        """Remove ``keys`` (missing ones are ignored)."""
        for key in keys:
            self.cache_set(namespace, key, "", ttl_s=0.001)

    def cache_get_many(self, namespace: Namespace, keys: Iterable[str]) -> dict[str, str]:
        """The cached values of ``keys`` that exist (missing and expired keys are absent).

        Backends override this with a few round trips in all; this default asks key by key.
        """
        found: dict[str, str] = {}
        for key in dict.fromkeys(keys):
            value = self.cache_get(namespace, key)
            if value is not None:
                found[key] = value
        return found

    def cache_set_many(
        self, namespace: Namespace, items: Mapping[str, str], ttl_s: float | None = None
    ) -> None:
        """Set every key of ``items`` (same ``ttl_s`` for all); backends batch the writes."""
        for key, value in items.items():
            self.cache_set(namespace, key, value, ttl_s)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""
