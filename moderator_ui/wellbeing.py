"""Wellbeing: text scored above ``HEMICYCLE_UI_BLUR_ABOVE`` is veiled until revealed.

A veiled text is blurred and its words are hidden from screen readers too (``aria-hidden``
and ``inert`` until the moderator reveals it with ``v`` or a click); the page remembers each
revealed item in the browser. Each moderator may turn veiling off (their settings).
"""

from __future__ import annotations

from moderator_ui.accounts import User
from pipeline.schemas.queue import QueueItem


def veil(item: QueueItem, user: User, threshold: float) -> str | None:
    """What the veil says (``"toxicity 0.97"``) if ``item``'s text is to be hidden, else None.

    The highest toxicity-like score counts (spam is not distressing to read)."""
    if not user.blur:
        return None
    scores = [s for s in item.scores if s.category != "spam"]
    top = max(scores, key=lambda s: s.value, default=None)
    if top is None or top.value <= threshold:
        return None
    return f"{top.category.replace('_', ' ')} {top.value:.2f}"
