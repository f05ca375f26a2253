"""Triage applies moderators' decisions: human states, outcomes, and conflicts kept aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.schemas import ModerationDecided, ModerationOutcome
from pipeline.schemas.moderation import PartyNotified
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.unit.test_triage import identified

CID = "decidim-test:c-1"


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store.sqlite3")


def decided(decision: str, by: str, seen: int | None, **extra: object) -> ModerationDecided:
    return ModerationDecided(
        contribution_id=CID,
        contribution_version=1,
        decision=decision,  # type: ignore[arg-type]
        moderator=by,
        seen_decisions=seen,
        **extra,  # type: ignore[arg-type]
    )


def test_a_decision_sets_the_state_and_tells_the_platform(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    seen = len(store.get(CID).decisions)  # type: ignore[union-attr]
    outcomes = triage.apply(decided("reject", "ana", seen, reason_code="spam", statement="ads"))
    item = store.get(CID)
    assert item is not None and item.state == "rejected"
    assert [(d.decision, d.by, d.reason_code) for d in item.decisions] == [
        ("reject", "ana", "spam")
    ]
    outcome, author = outcomes  # the platform's outcome, and what to tell the author
    assert isinstance(outcome, ModerationOutcome)
    assert (outcome.outcome, outcome.automatic, outcome.decided_by) == ("rejected", False, "ana")
    statement = outcome.statement_of_reasons
    assert statement is not None and statement.restriction == "rejected"
    assert (statement.category, statement.automated_decision) == ("spam", "not")
    assert item.statements == [statement]
    assert isinstance(author, PartyNotified)
    assert (author.kind, author.recipient, author.statement_of_reasons) == (
        "restriction",
        "u-1",
        statement,
    )
    assert (outcome.reason_code, outcome.reasons, outcome.platform) == (
        "spam",
        ["ads"],
        "decidim-test",
    )


def test_a_decision_made_on_a_stale_view_is_a_conflict_not_an_overwrite(
    store: EmbeddedStore,
) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    seen = len(store.get(CID).decisions)  # type: ignore[union-attr]
    triage.apply(decided("approve", "ana", seen))
    assert triage.apply(decided("reject", "ben", seen, reason_code="offensive")) == []
    item = store.get(CID)
    assert item is not None
    assert item.state == "approved"
    assert [d.by for d in item.decisions] == ["ana"]
    assert [(c.by, c.decision) for c in item.conflicts] == [("ben", "reject")]


def test_a_decision_made_after_seeing_the_earlier_one_applies(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    triage.apply(decided("escalate", "ana", len(store.get(CID).decisions)))  # type: ignore[union-attr]
    assert store.get(CID).state == "escalated"  # type: ignore[union-attr]
    [outcome] = triage.apply(decided("approve", "lead", len(store.get(CID).decisions)))  # type: ignore[union-attr]
    assert outcome.outcome == "approved"
    assert [d.decision for d in store.get(CID).decisions] == ["escalate", "approve"]  # type: ignore[union-attr]


def test_machine_results_never_undo_a_human_decision(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    triage.apply(decided("reject", "ana", len(store.get(CID).decisions)))  # type: ignore[union-attr]
    triage.apply(identified(lang="de"))
    assert store.get(CID).state == "rejected"  # type: ignore[union-attr]


def test_a_decision_about_an_older_version_is_recorded_but_decides_nothing(
    store: EmbeddedStore,
) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    triage.apply(identified(version=2, body="Edited text of the proposal."))
    assert triage.apply(decided("reject", "ana", None)) == []
    item = store.get(CID)
    assert item is not None and item.state == "needs_review"
    assert [(d.by, d.version) for d in item.decisions] == [("ana", 1)]


def test_a_decision_before_an_edit_survives_in_any_order(tmp_path: Path) -> None:
    """Live, the decision lands before version 2; a rebuild may replay it after: same item."""
    events = [identified(), decided("reject", "ana", 0), identified(version=2, body="Edited.")]
    items = []
    for n, order in enumerate(([0, 1, 2], [0, 2, 1])):
        store = EmbeddedStore(tmp_path / f"{n}.sqlite3")
        triage = TriageStage(store, wait_for_scores=False)
        for i in order:
            triage.apply(events[i])
        items.append(store.get(CID))
    assert items[0] == items[1]
    assert items[0] is not None and items[0].state == "needs_review"
    assert [(d.decision, d.version) for d in items[0].decisions] == [("reject", 1)]


def test_a_replayed_decision_re_emits_its_outcome(store: EmbeddedStore) -> None:
    """A crash after the store write and before the publish: the replay owes the outcome."""
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    event = decided("reject", "ana", 0, reason_code="spam")
    first = triage.apply(event)
    again = triage.apply(event)
    assert [o.event_id for o in again] == [o.event_id for o in first]  # outcome and notice
    assert isinstance(again[0], ModerationOutcome) and again[0].outcome == "rejected"
    triage.apply(decided("approve", "lead", 1))
    assert triage.apply(event) == []  # superseded: re-sending it would undo the approval
