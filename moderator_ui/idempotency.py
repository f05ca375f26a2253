"""Idempotent UI actions: the page makes one key per action, the event id is derived from it.

A double submit, a retried request or a reload that posts again carries the same key, so it
publishes the same event id: triage applies it once, and the UI answers the repeat as done.
"""

from __future__ import annotations

import uuid
from typing import Any

# Namespace of event ids derived from UI idempotency keys.
UI_NAMESPACE = uuid.UUID("0c7e4f6a-3f0b-4d1e-8a57-2b9d61c4e8f3")


def action_event_id(kind: str, user: str, key: str, *parts: str) -> uuid.UUID:
    """The event id of one action: ``kind`` (decision, correction…), who, the page's key and
    what it is about (the contribution, for a bulk action each item)."""
    return uuid.uuid5(UI_NAMESPACE, "/".join((kind, user, key, *parts)))


def action_ids(kind: str, user: str, key: str | None, *parts: str) -> dict[str, Any]:
    """``{"event_id": …}`` for an event's constructor, or nothing without a key."""
    return {"event_id": action_event_id(kind, user, key, *parts)} if key else {}
