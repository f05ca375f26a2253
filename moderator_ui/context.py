"""What the review page shows around a contribution: its link, its parent and its thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline.schemas.keys import contribution_key
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery, QueueStore

THREAD_LIMIT = 50
ORIGIN_WORDS = {
    "machine": "machine translation",
    "memory": "from the translation memory (a translator's earlier translation of this text)",
    "human": "written by a translator",
}


@dataclass
class Context:
    link: str | None = None
    parent_id: str | None = None
    parent: QueueItem | None = None
    siblings: list[QueueItem] = field(default_factory=list)
    replies: list[QueueItem] = field(default_factory=list)


def safe_link(url: str | None) -> str | None:
    """``url`` if it is an http(s) address with a host; anything else is not made a link."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _replies_to(store: QueueStore, key: str) -> list[QueueItem]:
    return store.query(QueueQuery(parent=key, order="oldest", limit=THREAD_LIMIT)).items


def thread_context(store: QueueStore, item: QueueItem) -> Context:
    """The link, the parent (if Hemicycle holds it), the parent's other replies and this
    contribution's own replies."""
    c = item.contribution
    context = Context(link=safe_link(c.url))
    if c.parent_id:
        context.parent_id = contribution_key(c.platform, c.parent_id)
        context.parent = store.get(context.parent_id)
        context.siblings = [
            i
            for i in _replies_to(store, context.parent_id)
            if i.contribution_id != item.contribution_id
        ]
    context.replies = _replies_to(store, item.contribution_id)
    return context


def translation_origins(item: QueueItem, language: str) -> dict[str, str]:
    """How each field's translation into ``language`` was made: machine, memory or human."""
    return {t.field: t.origin for t in item.translations if t.target_language == language}
