"""Builders of statements of reasons and queue items holding them, for the DSA tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipeline.schemas import Contribution
from pipeline.schemas.queue import QueueItem
from pipeline.schemas.statements import StatementOfReasons
from tests.conftest import contribution

DECIDED = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def statement(n: int = 1, **overrides: Any) -> StatementOfReasons:
    """A valid statement: a moderator's rejection for harassment on a ToS ground."""
    base: dict[str, Any] = {
        "puid": f"hc-{n:032x}",
        "outcome_event_id": f"00000000-0000-0000-0000-{n:012x}",
        "contribution_id": f"decidim-test:c-{n}",
        "contribution_version": 1,
        "platform": "decidim-test",
        "space": "climate",
        "kind": "proposal",
        "restriction": "rejected",
        "ground": "incompatible",
        "category": "harassment",
        "incompatible_ground": "decidim-test moderation policy: harassment",
        "facts": "Rejected by a moderator (harassment). Repeated insults aimed at one participant.",
        "source": "voluntary",
        "automated_detection": True,
        "automated_decision": "not",
        "content_language": "fr",
        "content_date": date(2026, 11, 20),
        "application_date": date(2026, 11, 21),
        "decided_at": DECIDED + timedelta(minutes=n),
        "decided_by": "moderator-alice",
    }
    base.update(overrides)
    return StatementOfReasons.model_validate(base)


def item_with(n: int, statements: list[StatementOfReasons]) -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(n, author="author-secret-7")),
        state="rejected",
        submitted_at=DECIDED,
        updated_at=DECIDED,
        statements=statements,
    )
