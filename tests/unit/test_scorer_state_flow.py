"""The scorer on shared state: replays emit the same events, restarts remember the flood."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Settings
from pipeline.policy import load_policy
from pipeline.schemas import ContributionScored
from pipeline.store.embedded import EmbeddedStore
from pipeline.store.scorer_state import ScorerLimits, open_scorer_state
from pipeline.workers.scorer import ScorerStage
from tests.unit.test_scoring_flow import StandInToxicity, identified

FLOOD = "Sign the petition now at http://petition-flood.example to stop the new bypass road"


def content(event: ContributionScored) -> dict[str, object]:
    """All of an event but the time it was made."""
    return event.model_dump(exclude={"occurred_at"})


def scorer_on(store: EmbeddedStore) -> ScorerStage:
    policy = load_policy()
    state = open_scorer_state(store, ScorerLimits.of(policy.spam))
    return ScorerStage(policy, StandInToxicity(), state=state)


def test_a_replayed_batch_emits_the_same_events_and_counts_the_author_once(
    tmp_path: Path,
) -> None:
    scorer = scorer_on(EmbeddedStore(tmp_path / "store.sqlite3"))
    batch = [identified(n, f"{FLOOD} {n % 3}", "en", author="campaigner") for n in range(6)]
    first = scorer.process(batch)
    again = scorer.process(batch)  # a crash before the commit replays the batch
    assert [content(e) for e in again] == [content(e) for e in first]
    originals = [e for e in first if e.scope == "original"]
    assert [e.author_prior_contributions for e in originals] == [0, 1, 2, 3, 4, 5]
    updates = [e for e in first if e.scope == "cluster"]
    # The first member is told when the second joins it, all four when the flood reaches 5.
    assert [e.contribution_id[-3:] for e in updates] == ["c-0", "c-0", "c-1", "c-2", "c-3"]
    assert len({e.event_id for e in first}) == len(first)
    later = scorer.process(
        [identified(50, "Another text of mine entirely.", "en", author="campaigner")]
    )
    assert later[0].author_prior_contributions == 6


def test_a_restarted_scorer_remembers_the_flood_and_the_burst(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    before = scorer_on(EmbeddedStore(path))
    out = before.process([identified(n, f"{FLOOD} {n}", "en", author="busy") for n in range(4)])
    cluster = out[-1].cluster_id
    assert cluster is not None
    before.close()
    after = scorer_on(EmbeddedStore(path))  # a new process on the same store
    scored = after.process(
        [identified(n, f"{FLOOD} {n}", "en", author="busy") for n in range(4, 10)]
    )
    last = [e for e in scored if isinstance(e, ContributionScored) and e.scope == "original"][-1]
    assert (last.cluster_id, last.cluster_size) == (cluster, 10)
    assert {s.name for s in last.spam_signals} >= {"flood", "burst"}


def test_the_scorer_keeps_its_state_in_the_configured_store(settings: Settings) -> None:
    store = EmbeddedStore(settings.data_dir / "store.sqlite3")
    one = ScorerStage.from_settings(settings, store)
    two = ScorerStage.from_settings(settings, store)
    one.process([identified(1, FLOOD, "en")])
    joined = two.process([identified(2, FLOOD, "en")])
    assert joined[0].cluster_size == 2
    store.clear()  # a rebuild leaves the scorer's memory alone
    assert one.process([identified(3, FLOOD, "en")])[0].cluster_size == 3
