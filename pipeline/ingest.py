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
from pipeline.privacy import Unsealed, sealer_for
from pipeline.schemas import Contribution
from pipeline.schemas.codec import describe_validation_error
from pipeline.schemas.ids import submission_event
from pipeline.store import open_store
from pipeline.store.base import QueueStore

FLUSH_EVERY = 1_000


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def parse_line(line: str | bytes, settings: Settings) -> Contribution:
    """One JSONL line → a valid contribution, or ``ValueError`` with a reason naming the field.

    The same contract as the API and the input topic: UTF-8 text (never silently repaired),
    a JSON object, the contribution's own validation (versions, Unicode, limits).
    """
    if len(line) > settings.max_event_bytes:
        raise ValueError(
            f"line of {len(line)} bytes exceeds the limit of {settings.max_event_bytes}"
        )
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return Contribution.model_validate(data, context=settings.validation_context)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def iter_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def iter_raw_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines as bytes (decoded one by one, so one bad line rejects only itself)."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def ingest_file(
    path: Path,
    bus: Bus,
    settings: Settings,
    *,
    progress: bool | None = None,
    store: QueueStore | None = None,
) -> IngestReport:
    """Validate every line; publish the valid ones as ``ContributionSubmitted`` (durably).

    Event ids are those of the API (uuid5 of platform, id and version): ingesting a file again,
    after a partial failure or not, publishes the same events and changes nothing downstream.
    Whatever was accepted is flushed even when reading stops with an error.
    """
    report = IngestReport()
    owned = store is None and settings.personal_data_protection
    keys = open_store(settings) if owned else store
    sealer = sealer_for(settings, keys) if keys is not None else Unsealed()
    producer = bus.producer()
    topic = settings.topic("submitted")
    size = path.stat().st_size
    show = progress if progress is not None else (sys.stderr.isatty() and size > 1_000_000)
    try:
        with (
            path.open("rb") as stream,
            tqdm(total=size, unit="B", unit_scale=True, disable=not show, desc="ingest") as bar,
        ):
            for number, line in iter_raw_lines(stream):
                bar.update(len(line))
                try:
                    contribution = parse_line(line, settings)
                    event = submission_event(contribution, producer="ingest")
                except ValueError as exc:  # pydantic's ValidationError is a ValueError too
                    report.rejected.append((number, str(exc)))
                    continue
                sealed = sealer.seal(event).to_json()
                producer.publish(topic, event.contribution_id, sealed, event.headers())
                report.accepted += 1
                if report.accepted % FLUSH_EVERY == 0:
                    producer.flush()
    finally:
        producer.close()
        if owned and keys is not None:
            keys.close()
    return report
