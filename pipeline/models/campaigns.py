"""Campaigns across languages: one message posted in several languages by many accounts.

Each contribution is compared in one pivot language (the first of ``HEMICYCLE_CAMPAIGN_PIVOTS``
that is a target language): its machine translation into it (texts written in the pivot
language are left to the stricter flood index). Two machine translations of one message are
looser copies than the copy-paste edits a flood is made of, so the comparison is on word stems
(the first four letters of each word of three letters or more) rather than character 5-grams,
with a lower similarity. Measured on the test sets (``benchmarks/campaigns.py``): human-written
translations of one message, brought into Spanish by Apertium, share 0.33-0.8 of their stems;
different opinions on the same subject at most 0.17, and none of them 0.28 with the campaign.
"""

from __future__ import annotations

import re

from pipeline.models.floods import FloodDetector

_WORD = re.compile(r"\w+", re.UNICODE)
CAMPAIGN_SIMILARITY = 0.45


class CampaignDetector(FloodDetector):
    """LSH bands over the word stems of a text in the pivot language."""

    def __init__(self, similarity: float = CAMPAIGN_SIMILARITY, *, window: int = 20_000) -> None:
        super().__init__(similarity, num_perm=128, window=window, min_tokens=8)

    def features(self, text: str) -> set[bytes]:
        return {w.casefold()[:4].encode() for w in _WORD.findall(text) if len(w) > 2}


def campaign_id(cluster_id: str) -> str:
    """A campaign's id, distinct from the flood cluster the same first member may found."""
    return "m-" + cluster_id.removeprefix("c-")
