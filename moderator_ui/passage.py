"""The passage of a long contribution that scored highest, for the review page to mark.

The scorer records, on each score of a text scored in windows, the character span of the
window that gave it (``window_start``/``window_end``, offsets into ``Contribution.text``:
the title, a line break, then the body). The review page marks the span of the highest
toxicity score inside the body; the template prints the three parts as escaped text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Passage", "highest_passage"]


@dataclass(frozen=True, slots=True)
class Passage:
    before: str
    marked: str
    after: str
    category: str
    value: float


def highest_passage(item: Any) -> Passage | None:
    """The body split around the window of the highest toxicity score, if one was recorded."""
    scores = [
        s
        for s in getattr(item, "scores", None) or []
        if s.category != "spam"
        and s.text_source == "original"
        and s.window_start is not None
        and s.window_end is not None
    ]
    if not scores:
        return None
    top = max(scores, key=lambda s: s.value)
    contribution = item.contribution
    body: str = contribution.body
    offset = len(contribution.title) + 1 if contribution.title else 0
    start = max(0, top.window_start - offset)
    end = min(len(body), top.window_end - offset)
    if end <= start:
        return None  # the window lay in the title
    return Passage(body[:start], body[start:end], body[end:], top.category, top.value)
