"""Bounds on what a dead letter carries, so one never outgrows the bus's record limit.

The record value is kept whole when its JSON-encoded form fits :data:`PAYLOAD_BUDGET_BYTES`
(a failed delivery event can then be replayed from its dead letter); otherwise only its head
is kept, with the size and SHA-256 of the whole. The budget counts JSON escaping: a control
character costs six bytes in the dead letter (``\\u0001``), base64 four bytes per three.
Worst case a dead letter stays well below 1 MB, Apache Kafka's default broker limit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Literal

PAYLOAD_BUDGET_BYTES = 256 * 1024
REASON_MAX_CHARS = 2_000
KEY_MAX_CHARS = 1_000
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class PayloadHead:
    """The part of a record value a dead letter keeps, and what describes the whole."""

    text: str
    encoding: Literal["utf-8", "base64"]
    size: int
    sha256: str
    truncated: bool


def payload_head(raw: bytes, budget: int = PAYLOAD_BUDGET_BYTES) -> PayloadHead:
    """UTF-8 text (JSON-encoded at most ``budget`` bytes) or base64 (at most ``budget`` chars)
    of the head of ``raw``: the whole value when it fits."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        head = raw[: budget // 4 * 3]
        text = base64.b64encode(head).decode("ascii")
        return PayloadHead(text, "base64", len(raw), digest, len(head) < len(raw))
    # A valid UTF-8 value cut at `budget` bytes loses at most one partial character at the end.
    text = raw[:budget].decode("utf-8", "ignore")
    size = _json_size(text)
    while size > budget:
        text = text[: min(len(text) - 1, len(text) * budget // size)]
        size = _json_size(text)
    return PayloadHead(text, "utf-8", len(raw), digest, len(text.encode()) < len(raw))


def bounded(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def _json_size(text: str) -> int:
    """Bytes of ``text`` as a JSON string body (escapes included, quotes excluded)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2
