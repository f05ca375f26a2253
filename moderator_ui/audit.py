"""The audit log: every login, claim, decision, correction and account change.

Entries are appended to the store's audit log (an append-only table or Redis stream) and
never changed; ``hemicycle rebuild`` keeps them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pipeline.schemas.envelope import utc_now
from pipeline.store.base import QueueStore

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "claim",
    "release",
    "decision",
    "decision_conflict",
    "appeal_decision",
    "sanction",
    "sanction_lifted",
    "correction",
    "user_added",
    "role_changed",
    "password_changed",
    "user_disabled",
    "user_enabled",
    "settings_changed",
    "user_languages",
    "export",
)
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "detail", "reason", "address")


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    at: AwareDatetime = Field(default_factory=utc_now)
    actor: str
    action: str
    target: str = ""
    detail: str = ""
    reason: str = ""
    address: str = ""


class AuditFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None

    def matches(self, entry: AuditEntry) -> bool:
        return (
            (not self.actor or entry.actor == self.actor)
            and (not self.action or entry.action == self.action)
            and (not self.target or self.target in entry.target)
            and (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at <= self.until)
        )


class AuditLog:
    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def record(self, actor: str, action: str, **fields: Any) -> None:
        entry = AuditEntry(actor=actor, action=action, **fields)
        self.store.audit_append(entry.model_dump_json(exclude={"id"}))

    def entries(self, flt: AuditFilter | None = None, *, chunk: int = 1000) -> Iterator[AuditEntry]:
        """Matching entries, newest first (stops reading once past ``since``)."""
        flt = flt or AuditFilter()
        before: str | None = None
        while True:
            rows = self.store.audit_read(before=before, limit=chunk)
            for entry_id, raw in rows:
                entry = AuditEntry.model_validate_json(raw).model_copy(update={"id": entry_id})
                if flt.since is not None and entry.at < flt.since:
                    return
                if flt.matches(entry):
                    yield entry
            if len(rows) < chunk:
                return
            before = rows[-1][0]

    def csv(self, flt: AuditFilter | None = None) -> Iterator[str]:
        """The matching entries as CSV text, header first, in chunks."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for n, entry in enumerate(self.entries(flt), start=1):
            data = entry.model_dump(mode="json")
            writer.writerow([_cell(str(data[c])) for c in CSV_COLUMNS])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()


def audit_reason(code: str | None, text: str | None) -> str:
    """The reason an entry records: the reason code and the statement, those given."""
    return " — ".join(x for x in (code, text) if x)


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in user-controlled text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
