"""Triage applies moderators' decisions: human states, outcomes, and conflicts kept aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.schemas import ModerationDecided, ModerationOutcome
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
        expected_revision=seen,
        **extra,  # type: ignore[arg-type]
    )


def test_a_decision_sets_the_state_and_tells_the_platform(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    seen = store.get(CID).revision  # type: ignore[union-attr]
    outcomes = triage.apply(decided("reject", "ana", seen, reason_code="spam", statement="ads"))
    item = store.get(CID)
    assert item is not None and item.state == "rejected"
    assert [(d.decision, d.by, d.reason_code) for d in item.decisions] == [
        ("reject", "ana", "spam")
    ]
    [outcome] = outcomes
    assert isinstance(outcome, ModerationOutcome)
    assert (outcome.outcome, outcome.automatic, outcome.decided_by) == ("rejected", False, "ana")
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
    seen = store.get(CID).revision  # type: ignore[union-attr]
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
    triage.apply(decided("escalate", "ana", store.get(CID).revision))  # type: ignore[union-attr]
    assert store.get(CID).state == "escalated"  # type: ignore[union-attr]
    [outcome] = triage.apply(decided("approve", "lead", store.get(CID).revision))  # type: ignore[union-attr]
    assert outcome.outcome == "approved"
    assert [d.decision for d in store.get(CID).decisions] == ["escalate", "approve"]  # type: ignore[union-attr]


def test_machine_results_never_undo_a_human_decision(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    triage.apply(decided("reject", "ana", store.get(CID).revision))  # type: ignore[union-attr]
    triage.apply(identified(lang="de"))
    assert store.get(CID).state == "rejected"  # type: ignore[union-attr]


def test_a_decision_about_an_older_version_is_ignored(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified())
    triage.apply(identified(version=2, body="Edited text of the proposal."))
    assert triage.apply(decided("reject", "ana", None)) == []
    item = store.get(CID)
    assert item is not None and item.state == "needs_review" and item.decisions == []
