"""``hemicycle export``: one JSON object per contribution with everything known about it.

``--full`` writes the queue item itself, every field (revision, conflicts, timestamps,
decisions with their event ids): two stores in the same state export the same bytes, which is
how a rebuild is checked against the live store.
"""

from __future__ import annotations

from typing import Any

from pipeline.schemas.queue import QueueItem


def export_full(item: QueueItem) -> dict[str, Any]:
    """Every field of the queue item, as stored."""
    return item.model_dump(mode="json")


def export_record(item: QueueItem) -> dict[str, Any]:
    c = item.contribution
    lang = item.language
    return {
        "id": c.id,
        "platform": c.platform,
        "contribution_id": c.key,
        "version": c.version,
        "kind": c.kind,
        "space": c.space,
        "author": c.author,
        "created_at": c.created_at.isoformat(),
        "state": item.state,
        "priority": item.priority,
        "language": lang.lang if lang else None,
        "confidence": lang.confidence if lang else None,
        "reliable": lang.reliable if lang else None,
        "language_reason": lang.reason if lang else None,
        "language_candidates": [cand.model_dump() for cand in lang.candidates] if lang else [],
        "language_method": lang.method if lang else None,
        "reasons": item.reasons,
        "scores": [score.model_dump() for score in item.scores],
        "spam_signals": [signal.model_dump() for signal in item.spam_signals],
        "cluster_id": item.cluster_id,
        "translations": [t.model_dump() for t in item.translations],
        "translations_unavailable": [u.model_dump() for u in item.translations_unavailable],
        "decisions": [d.model_dump(mode="json") for d in item.decisions],
    }
