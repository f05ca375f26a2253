"""HMAC-SHA256 signatures of webhook bodies: ``X-Hemicycle-Signature: t=<unix s>,v1=<hex>``.

The signed message is ``f"{t}.".encode() + raw_body``: the timestamp is covered by the MAC, so
a captured request cannot be replayed later with a fresh ``t``; receivers reject timestamps
outside a tolerance window (5 minutes by default). :func:`verify` is what a platform runs (the
README shows the same few lines for platforms that do not run Python).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Hemicycle-Signature"
EVENT_ID_HEADER = "X-Hemicycle-Event-Id"
EVENT_TYPE_HEADER = "X-Hemicycle-Event-Type"
DEFAULT_TOLERANCE_S = 300


def _mac(secret: str | bytes, body: bytes, timestamp: int) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Hemicycle-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={int(timestamp)},v1={_mac(secret, body, int(timestamp))}"


def verify(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid signature of the raw ``body`` made within ``tolerance_s``.

    ``body`` must be the bytes exactly as received (not re-serialised JSON). Timestamps
    further than ``tolerance_s`` from ``now`` (default: the current time), in the past or the
    future, are rejected. Several ``v1=`` entries are accepted (any one may match), so a
    sender can sign with an old and a new secret while a secret is being rotated.
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if name == "t":
            if timestamp is not None or not value.isdigit():
                return False
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, body, timestamp).encode("ascii")
    # Compare every candidate (no early exit), each in constant time; bytes, since
    # compare_digest refuses non-ASCII str and a header may carry anything.
    matches = [hmac.compare_digest(expected, c.encode("utf-8", "replace")) for c in candidates]
    return any(matches)
