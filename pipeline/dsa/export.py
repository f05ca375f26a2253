"""Statements of reasons from the store, in the DSA Transparency Database's form.

Every statement kept on a queue item is exported, superseded ones included (the restriction
happened and its statement was owed). Order: application date, decision time, puid — the same
store gives the same lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from pipeline.dsa.categories import CategoryTable
from pipeline.dsa.statement import DsaRefused, to_dsa
from pipeline.schemas.statements import StatementOfReasons
from pipeline.store.base import QueueStore


@dataclass
class Converted:
    """Statements in the API's form, and those that break one of its rules."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    refused: list[DsaRefused] = field(default_factory=list)


def collect(
    store: QueueStore,
    *,
    since: date | None = None,
    until: date | None = None,
    platform: str | None = None,
) -> list[StatementOfReasons]:
    """The store's statements applied between ``since`` and ``until`` (inclusive), in order."""
    found: dict[str, StatementOfReasons] = {}
    for item in store.iter_items():
        for statement in item.statements:
            if since is not None and statement.application_date < since:
                continue
            if until is not None and statement.application_date > until:
                continue
            if platform is not None and statement.platform != platform:
                continue
            found.setdefault(statement.puid, statement)
    return sorted(found.values(), key=lambda s: (s.application_date, s.decided_at, s.puid))


def convert(
    statements: Iterable[StatementOfReasons],
    *,
    table: CategoryTable,
    territorial_scope: Sequence[str],
) -> Converted:
    result = Converted()
    for statement in statements:
        try:
            result.rows.append(to_dsa(statement, table=table, territorial_scope=territorial_scope))
        except DsaRefused as exc:
            result.refused.append(exc)
    return result


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
