"""Statements of reasons from the store, in the DSA Transparency Database's form.

Every statement kept on a queue item is exported, superseded ones included (the restriction
happened and its statement was owed). Order: application date, decision time, puid — the same
store gives the same lines. The ids and names of the people an item concerns (author,
reporters, notifiers, appellants, moderators) are removed from the statement's free texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from pipeline.dsa.categories import CategoryTable
from pipeline.dsa.statement import DsaRefused, to_dsa
from pipeline.schemas.queue import QueueItem
from pipeline.schemas.statements import StatementOfReasons
from pipeline.store.base import QueueStore


@dataclass(frozen=True)
class Found:
    """A statement, and the ids and names of the people its item concerns."""

    statement: StatementOfReasons
    private: tuple[str, ...] = ()


def people(item: QueueItem) -> tuple[str, ...]:
    """Every person's id or name the item holds (never to appear in an export)."""
    found: list[str | None] = [item.contribution.author]
    for report in item.reports:
        found.append(report.reporter)
        if report.notice is not None:
            found += [report.notice.notifier_name, report.notice.notifier_email]
    found += [d.by for d in (*item.decisions, *item.conflicts)]
    for sanction in item.sanctions:
        found += [sanction.author, sanction.by, sanction.lifted_by]
    for appeal in item.appeals:
        found += [appeal.appellant, appeal.against_by, appeal.decided_by]
    found += [s.decided_by for s in item.statements]
    return tuple(sorted({value for value in found if value}))


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
) -> list[Found]:
    """The store's statements applied between ``since`` and ``until`` (inclusive), in order."""
    found: dict[str, Found] = {}
    for item in store.iter_items():
        private = people(item)
        for statement in item.statements:
            if since is not None and statement.application_date < since:
                continue
            if until is not None and statement.application_date > until:
                continue
            if platform is not None and statement.platform != platform:
                continue
            found.setdefault(statement.puid, Found(statement, private))
    return sorted(
        found.values(),
        key=lambda f: (f.statement.application_date, f.statement.decided_at, f.statement.puid),
    )


def convert(
    statements: Iterable[Found],
    *,
    table: CategoryTable,
    territorial_scope: Sequence[str],
) -> Converted:
    result = Converted()
    for found in statements:
        try:
            result.rows.append(
                to_dsa(
                    found.statement,
                    table=table,
                    territorial_scope=territorial_scope,
                    private=found.private,
                )
            )
        except DsaRefused as exc:
            result.refused.append(exc)
    return result


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
