"""The store contract for the moderation facets: open reports and open appeals."""

from __future__ import annotations

from datetime import timedelta

from pipeline.schemas.queue import Appeal, Decision, QueueItem, Report
from pipeline.store.base import QueueQuery, QueueStore
from tests.contract.test_store_contract import NOW, item, qids


def report(n: int, at_minutes: int = 1) -> Report:
    return Report(
        event_id=f"r-{n}",
        reporter=f"reporter-{n}",
        reason="spam",
        at=NOW + timedelta(minutes=at_minutes),
        version=1,
    )


def appeal(result: str | None = None) -> Appeal:
    return Appeal(
        event_id="a-1",
        appellant="author-1",
        appellant_role="author",
        statement="It was not spam.",
        at=NOW,
        result=result,  # type: ignore[arg-type]
    )


def seed(store: QueueStore) -> None:
    decided = Decision(decision="approve", by="alice", at=NOW + timedelta(minutes=5))
    rows: list[QueueItem] = [
        item(1).model_copy(update={"reports": [report(1), report(2)]}),
        item(2, state="approved").model_copy(update={"reports": [report(3)]}),
        # Reported before a human decided: answered, so not open any more.
        item(3, state="approved").model_copy(
            update={"reports": [report(4)], "decisions": [decided]}
        ),
        item(4, state="rejected").model_copy(update={"appeals": [appeal()]}),
        item(5, state="approved").model_copy(update={"appeals": [appeal("upheld")]}),
        item(6),
    ]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"m{n}", expected_revision=0)


def test_query_filters_open_reports_and_open_appeals_in_any_state(store: QueueStore) -> None:
    seed(store)
    reported = store.query(QueueQuery(reported="open", order="oldest"))
    assert (qids(reported), reported.total) == (["c-1", "c-2"], 2)
    review = store.query(QueueQuery(states=("needs_review",), reported="open"))
    assert qids(review) == ["c-1"]
    appeals = store.query(QueueQuery(appeal="open"))
    assert (qids(appeals), appeals.total) == (["c-4"], 1)


def test_answered_reports_and_decided_appeals_leave_the_facets(store: QueueStore) -> None:
    seed(store)
    current = store.get("decidim-test:c-1")
    appealed = store.get("decidim-test:c-4")
    assert current is not None and appealed is not None
    decided = Decision(decision="reject", by="bob", at=NOW + timedelta(minutes=9))
    store.save(
        current.model_copy(update={"state": "rejected", "decisions": [decided]}),
        event_id="decide",
        expected_revision=current.revision,
    )
    store.save(
        appealed.model_copy(update={"appeals": [appeal("reversed")]}),
        event_id="appeal-decided",
        expected_revision=appealed.revision,
    )
    assert qids(store.query(QueueQuery(reported="open"))) == ["c-2"]
    assert store.query(QueueQuery(appeal="open")).total == 0
