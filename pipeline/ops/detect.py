"""``hemicycle detect``: offline language identification of a JSONL file, in input order."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from pipeline.config import Settings
from pipeline.ingest import iter_lines
from pipeline.models.langid import LanguageDetector
from pipeline.models.langid_shared import shared_detector

CHUNK = 2_000


def text_of(obj: dict[str, Any]) -> str:
    """``text`` if present, else ``title`` and ``body`` joined by a newline."""
    if isinstance(obj.get("text"), str):
        return obj["text"]
    parts = [obj.get("title"), obj.get("body")]
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def _parse(number: int, line: str) -> tuple[Any, str, str | None] | str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return f"line {number}: expected a JSON object"
    hint = obj.get("locale_hint") if isinstance(obj.get("locale_hint"), str) else None
    return obj.get("id"), text_of(obj), hint


def detect_file(path: Path, settings: Settings, out: IO[str]) -> int:
    """Write one result per non-blank input line; return the number of unreadable lines.

    An unreadable line still yields a line (``lang: null`` and an ``error``) so output rows
    stay aligned with input rows.
    """
    detector = shared_detector(
        settings.target_languages,
        model_path=settings.langid_model_path,
        second_opinion=settings.langid_second_opinion,
        min_letters=settings.langid_min_letters,
    )
    errors = 0
    with path.open(encoding="utf-8", errors="replace") as stream:
        chunk: list[tuple[int, tuple[Any, str, str | None] | str]] = []
        for number, line in iter_lines(stream):
            chunk.append((number, _parse(number, line)))
            if len(chunk) >= CHUNK:
                errors += _flush(chunk, detector, out)
                chunk = []
        errors += _flush(chunk, detector, out)
    return errors


def _flush(chunk: Iterable[tuple[int, Any]], detector: LanguageDetector, out: IO[str]) -> int:
    rows = list(chunk)
    good = [(n, p) for n, p in rows if not isinstance(p, str)]
    guesses = iter(detector.detect_many([p[1] for _, p in good], [p[2] for _, p in good]))
    errors = 0
    for number, parsed in rows:
        if isinstance(parsed, str):
            errors += 1
            print(parsed, file=sys.stderr)
            result: dict[str, Any] = {
                "id": None,
                "line": number,
                "lang": None,
                "confidence": 0.0,
                "reliable": False,
                "error": parsed,
            }
        else:
            guess = next(guesses)
            result = {
                "id": parsed[0],
                "lang": guess.lang,
                "confidence": round(guess.confidence, 4),
                "reliable": guess.reliable,
            }
            if guess.reason:
                result["reason"] = guess.reason
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return errors
