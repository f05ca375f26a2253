"""Bounded dead letters: the head of the payload, with the size and SHA-256 of the whole."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from pipeline.schemas import DeadLetter
from pipeline.workers.dead_letters import PAYLOAD_BUDGET_BYTES, bounded, payload_head


def json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def test_a_small_payload_is_kept_whole() -> None:
    raw = '{"type": "ContributionSubmitted", "body": "Bäume für alle"}'.encode()
    head = payload_head(raw)
    assert head.text.encode() == raw
    assert (head.encoding, head.size, head.truncated) == ("utf-8", len(raw), False)
    assert head.sha256 == hashlib.sha256(raw).hexdigest()


def test_random_bytes_keep_a_base64_head_with_size_and_digest() -> None:
    raw = os.urandom(5_000_000)
    head = payload_head(raw)
    assert head.encoding == "base64" and head.truncated
    assert len(head.text) <= PAYLOAD_BUDGET_BYTES
    kept = base64.b64decode(head.text)
    assert raw.startswith(kept) and len(kept) >= PAYLOAD_BUDGET_BYTES * 3 // 4 - 3
    assert head.size == 5_000_000
    assert head.sha256 == hashlib.sha256(raw).hexdigest()


def test_control_characters_are_bounded_after_json_escaping() -> None:
    raw = b"\x01" * 1_000_000  # valid UTF-8; each byte becomes six in JSON
    head = payload_head(raw)
    assert head.encoding == "utf-8" and head.truncated
    assert json_bytes(head.text) <= PAYLOAD_BUDGET_BYTES
    assert len(head.text) >= PAYLOAD_BUDGET_BYTES // 6 - 1
    assert raw.startswith(head.text.encode())
    assert head.size == 1_000_000 and head.sha256 == hashlib.sha256(raw).hexdigest()


def test_a_multibyte_character_is_never_split() -> None:
    raw = "ż".encode() * 400_000
    head = payload_head(raw, budget=1001)
    assert head.truncated and raw.startswith(head.text.encode())
    assert set(head.text) == {"ż"} and len(head.text.encode()) == 1000


def test_reasons_are_cut_with_a_mark() -> None:
    assert bounded("short", 10) == "short"
    cut = bounded("x" * 50, 10)
    assert len(cut) == 10 and cut.endswith("…")


def test_dead_letters_written_before_the_new_fields_still_parse() -> None:
    old = {
        "type": "DeadLetter",
        "event_id": "7b0c7a52-5e3f-4bf3-9d47-2a6f55d2c0a1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "reason": "not valid JSON",
        "error_type": "invalid_event",
        "origin": {"topic": "t", "partition": 0, "offset": 3, "key": None, "stage": "langid"},
        "raw_payload": "{",
    }
    letter = DeadLetter.model_validate(old)
    assert letter.payload_bytes is None and letter.payload_sha256 is None
    assert letter.payload_truncated is False
