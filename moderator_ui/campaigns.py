"""A campaign across languages as the moderator sees it: its languages and its authors.

Campaign clusters (ids ``m-…``, from the scorer's cross-language index) hold one message
posted in several languages; the item page names the languages and counts the accounts, and
bulk actions take the cluster like a flood's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery, QueueStore

CAMPAIGN_PREFIX = "m-"  # pipeline.models.campaigns.campaign_id
LIMIT = 1000


@dataclass(frozen=True)
class CampaignSummary:
    cluster_id: str
    items: int
    languages: tuple[str, ...]
    authors: int
    capped: bool  # more members than were read


def is_campaign(cluster_id: str | None) -> bool:
    return bool(cluster_id) and cluster_id.startswith(CAMPAIGN_PREFIX)  # type: ignore[union-attr]


def campaign_summary(store: QueueStore, item: QueueItem) -> CampaignSummary | None:
    """The campaign ``item`` belongs to, read from the queue (None for no campaign)."""
    if not is_campaign(item.cluster_id):
        return None
    members = store.query(QueueQuery(cluster=item.cluster_id, order="oldest", limit=LIMIT)).items
    languages = sorted({m.language.lang for m in members if m.language and m.language.lang})
    return CampaignSummary(
        cluster_id=item.cluster_id or "",
        items=len(members),
        languages=tuple(languages),
        authors=len({m.contribution.author for m in members}),
        capped=len(members) >= LIMIT,
    )
