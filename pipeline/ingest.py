"""``hemicycle ingest``: publish contributions from a JSONL file, reporting bad lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import ValidationError
from tqdm import tqdm

from pipeline.bus.base import Bus
from pipeline.config import Settings
from pipeline.schemas import Contribution, ContributionSubmitted, Trace
from pipeline.schemas.codec import describe_validation_error

FLUSH_EVERY = 1_000


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def parse_line(line: str, settings: Settings) -> Contribution:
    """One JSONL line → a valid contribution, or ``ValueError`` with a reason naming the field."""
    if len(line) > settings.max_event_bytes:
        raise ValueError(
            f"line of {len(line)} characters exceeds the limit of {settings.max_event_bytes}"
        )
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return Contribution.model_validate(data, context=settings.validation_context)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def iter_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def ingest_file(
    path: Path, bus: Bus, settings: Settings, *, progress: bool | None = None
) -> IngestReport:
    """Validate every line; publish the valid ones as ``ContributionSubmitted`` (durably)."""
    report = IngestReport()
    producer = bus.producer()
    topic = settings.topic("submitted")
    size = path.stat().st_size
    show = progress if progress is not None else (sys.stderr.isatty() and size > 1_000_000)
    with (
        path.open(encoding="utf-8", errors="replace") as stream,
        tqdm(total=size, unit="B", unit_scale=True, disable=not show, desc="ingest") as bar,
    ):
        for number, line in iter_lines(stream):
            bar.update(len(line.encode("utf-8", "replace")))
            try:
                contribution = parse_line(line, settings)
            except ValueError as exc:
                report.rejected.append((number, str(exc)))
                continue
            event = ContributionSubmitted(contribution=contribution, trace=Trace(producer="ingest"))
            producer.publish(topic, event.contribution_id, event.to_json(), event.headers())
            report.accepted += 1
            if report.accepted % FLUSH_EVERY == 0:
                producer.flush()
    producer.close()
    return report
