"""Erasing a participant's personal data (GDPR Art. 17), everywhere Hemicycle keeps it.

``erase()`` serves ``POST /v1/erasures`` and ``hemicycle erase``, for one platform:

1. finds the contributions — of an author (those the keyring knows, triaged or still in
   flight, and those the store holds), or one by id — and answers :class:`NothingToErase`
   when there are none (nothing is erased elsewhere);
2. deletes what the store keeps of their text outside the queue item: translators'
   corrections in the translation memory, the machine-translation cache (a cache: cleared
   whole, it refills), events parked for triage, the author's sanction record;
3. replaces their data keys by tombstones (and, for an author, marks the author erased, so a
   contribution arriving later is erased on arrival): from then on nothing in any topic opens;
4. publishes one ``ErasureRequested`` per contribution, with ids derived from (contribution,
   scope): repeating a request publishes the same events. Triage erases the queue items and
   tells the platform (outcome ``erased``); ``hemicycle rebuild`` reproduces the erased items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.config import Settings
from pipeline.errors import PermanentError
from pipeline.models.segment import segment
from pipeline.privacy.keyring import DATA_KEYS, Keyring, key_id
from pipeline.schemas.envelope import Envelope
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.moderation import ErasureRequested, erasure_event_id
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery, QueueStore
from pipeline.translation_memory import CACHE, MEMORY, memory_digest
from pipeline.workers.triage import PENDING
from pipeline.workers.triage_record import AUTHOR_SANCTIONS, author_key

PAGE = 500
MAX_SEGMENT_CHARS = 400  # the translator's default segmentation


class NothingToErase(PermanentError, LookupError):
    """No contribution of this platform matches: nothing was erased."""


@dataclass
class ErasureReport:
    contributions: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def erase(
    store: QueueStore,
    settings: Settings,
    publish: Callable[[Sequence[Envelope]], None],
    *,
    platform: str,
    author: str | None = None,
    contribution: str | None = None,
    requested_by: str,
) -> ErasureReport:
    if (author is None) == (contribution is None):
        raise ValueError("name either an author or one contribution id")
    keyring = Keyring(store, ttl_s=0.0)
    if author is not None:
        scope = "author"
        targets = sorted(
            set(keyring.contributions_of(platform, author)) | _stored(store, platform, author)
        )
    else:
        scope = "contribution"
        cid = contribution_key(platform, str(contribution))
        known = store.get(cid) is not None or store.cache_get(DATA_KEYS, key_id(cid)) is not None
        targets = [cid] if known else []
    if not targets:
        raise NothingToErase(
            f"no contribution of platform {platform!r} matches this "
            f"{'author' if author is not None else 'id'}: nothing was erased"
        )
    for cid in targets:
        item = store.get(cid)
        if item is not None:
            store.cache_delete(MEMORY, _memory_keys(item))
        store.cache_delete(PENDING, [f"{cid}@{v}" for v in range(1, _versions(item) + 2)])
    store.cache_clear(CACHE)
    keyring.erase(targets)
    if author is not None:
        keyring.erase_author(platform, author)
        store.cache_delete(AUTHOR_SANCTIONS, [author_key(platform, author)])
    events = [
        ErasureRequested(
            event_id=erasure_event_id(cid, scope),
            contribution_id=cid,
            contribution_version=max(1, _versions(store.get(cid))),
            platform=platform,
            scope=scope,
            requested_by=requested_by,
        )
        for cid in targets
    ]
    publish(events)
    return ErasureReport(targets, [str(e.event_id) for e in events])


def _stored(store: QueueStore, platform: str, author: str) -> set[str]:
    found: set[str] = set()
    offset = 0
    while True:
        page = store.query(QueueQuery(author=author, limit=PAGE, offset=offset))
        found |= {i.contribution_id for i in page.items if i.contribution.platform == platform}
        offset += PAGE
        if offset >= page.total or not page.items:
            return found


def _versions(item: QueueItem | None) -> int:
    return item.version if item is not None else 1


def _memory_keys(item: QueueItem) -> list[str]:
    """Translation-memory keys learnt from this item's corrections (per segment and whole)."""
    source = item.language_code
    if source is None:
        return []
    fields = {"title": item.contribution.title, "body": item.contribution.body}
    keys = []
    for t in item.translations:
        original = fields.get(t.field)
        if t.origin == "machine" or not original:
            continue
        parts = segment(original, source, max_chars=MAX_SEGMENT_CHARS).segments
        texts = [p.text for p in parts] + [original]
        keys += [memory_digest(source, t.target_language, text) for text in texts]
    return keys
