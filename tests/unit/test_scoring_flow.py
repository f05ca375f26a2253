"""Scorer → triage on the real embedded store, with a stand-in toxicity model.

The stand-in makes this a test of our own logic (coverage, translation fallback, floods,
re-triage, outcomes); tests/integration/test_toxicity_pipeline.py runs a real trained model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.policy import load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    LanguageIdentified,
    LanguageResult,
    ModerationOutcome,
    Translation,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.scorer import ScorerStage
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution


class StandInToxicity:
    """Scores 'idiot' as toxic; covers English and French only."""

    model_id = "stand-in"
    languages = frozenset({"en", "fr"})

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(len(texts))
        return [
            {
                "toxicity": 0.97 if "idiot" in t.lower() else 0.02,
                "insult": 0.9 if "idiot" in t.lower() else 0.01,
            }
            for t in texts
        ]


def identified(
    n: int, body: str, lang: str | None, version: int = 1, **fields: Any
) -> LanguageIdentified:
    source = ContributionSubmitted(
        contribution=contribution(n, body=body, version=version, **fields)
    )
    return source.derive(
        LanguageIdentified,
        producer="langid",
        contribution=source.contribution,
        language=LanguageResult(lang=lang, confidence=0.99, reliable=True, method="test"),
        detector="test",
    )


@pytest.fixture
def stages(tmp_path: Path) -> tuple[ScorerStage, TriageStage, EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    policy = load_policy()
    return ScorerStage(policy, StandInToxicity()), TriageStage(store, policy), store


def run(stages: tuple[ScorerStage, TriageStage, EmbeddedStore], events: list[Any]) -> list[Any]:
    scorer, triage, _ = stages
    for_triage = [e for e in events if isinstance(e, triage.accepts)]  # as the topics route them
    return outcomes_of(triage.process([*for_triage, *scorer.process(events)]))


def outcomes_of(outputs: list[Any]) -> list[Any]:
    """Triage's outcomes, without its answers to people (``PartyNotified``)."""
    return [o for o in outputs if isinstance(o, ModerationOutcome)]


def test_covered_languages_are_scored_as_written_and_decided(stages: Any) -> None:
    clean = identified(1, "We should plant more trees along the river banks.", "en")
    toxic = identified(2, "You are an idiot and so is everyone here.", "en")
    outcomes = run(stages, [clean, toxic])
    store = stages[2]
    approved, hidden = store.get(clean.contribution_id), store.get(toxic.contribution_id)
    assert approved.state == "auto_approved"
    assert hidden.state == "auto_hidden"
    assert hidden.reasons[0] == "toxicity 0.97 ≥ 0.95 (policy: default)"
    score = next(s for s in hidden.scores if s.category == "toxicity")
    assert (score.model, score.text_source, score.text_language) == ("stand-in", "original", "en")
    assert {(o.contribution_id, o.outcome) for o in outcomes} == {
        (clean.contribution_id, "approved"),
        (toxic.contribution_id, "hidden"),
    }
    assert all(isinstance(o, ModerationOutcome) and o.automatic for o in outcomes)
    assert stages[0].toxicity.calls == [2]  # one batch for the whole poll


def test_uncovered_language_waits_for_its_english_translation(stages: Any) -> None:
    polish = identified(3, "Jesteś idiotą, tak jak wszyscy tutaj na tym forum.", "pl")
    run(stages, [polish])
    item = stages[2].get(polish.contribution_id)
    assert item.state == "needs_review"
    assert item.reasons[0].startswith("toxicity not scored: language pl not covered")
    translated = polish.derive(
        ContributionTranslated,
        producer="translator",
        source_language="pl",
        translations=[
            Translation(
                field="body",
                target_language="en",
                origin="machine",
                text="You are an idiot, like everyone here on this forum.",
            )
        ],
    )
    outcomes = run(stages, [translated])
    item = stages[2].get(polish.contribution_id)
    assert item.state == "auto_hidden"
    toxicity = next(s for s in item.scores if s.category == "toxicity")
    assert (toxicity.text_source, toxicity.text_language) == ("translation", "en")
    assert any(s.category == "spam" for s in item.scores)  # spam score kept from the original
    assert [o.outcome for o in outcomes] == ["hidden"]


def test_without_a_model_spam_signals_still_run(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    scorer, triage = ScorerStage(load_policy()), TriageStage(store)
    spam = identified(4, "Free bitcoin at https://bit.ly/xyz for everyone who clicks", "en")
    scored = scorer.process([spam])
    assert scored[0].toxicity_available is False
    assert "not configured" in scored[0].unavailable_reason
    triage.process([spam, *scored])
    item = store.get(spam.contribution_id)
    assert item.state == "auto_hidden"
    assert "spam signal: link to blocked domain bit.ly" in item.reasons


def test_a_flood_of_fifty_from_twenty_authors_is_one_cluster_in_the_queue(stages: Any) -> None:
    rng = random.Random(5)
    events = []
    for n in range(50):
        tail = rng.choice(["please", "today", "now!", "friends", "everyone"])
        body = f"Sign the petition now at http://petition-flood.example to stop the road {tail}"
        events.append(identified(100 + n, body, "en", author=f"a{n % 20}"))
    for start in range(0, 50, 7):  # several polls, as a worker would see them
        run(stages, events[start : start + 7])
    items = [stages[2].get(e.contribution_id) for e in events]
    clusters = {item.cluster_id for item in items}
    assert len(clusters) == 1 and None not in clusters
    assert all(item.state in {"needs_review", "auto_hidden"} for item in items)
    assert all(any(r.startswith("duplicate of") for r in item.reasons) for item in items)


def test_a_new_version_is_triaged_again_and_old_results_are_ignored(stages: Any) -> None:
    v1 = identified(5, "A calm proposal about cycle lanes near the school.", "en")
    run(stages, [v1])
    assert stages[2].get(v1.contribution_id).state == "auto_approved"
    v2 = identified(5, "Edited: the council are idiots and should resign.", "en", version=2)
    outcomes = run(stages, [v2])
    item = stages[2].get(v1.contribution_id)
    assert (item.version, item.state) == (2, "auto_hidden")
    assert [o.outcome for o in outcomes] == ["hidden"]
    late = stages[0].process([v1])  # a replayed score of version 1 arrives late
    stages[1].process(late)
    assert stages[2].get(v1.contribution_id).state == "auto_hidden"


def test_scores_arriving_before_their_contribution_wait_for_it(stages: Any) -> None:
    event = identified(6, "You absolute idiot.", "en")
    scored = stages[0].process([event])
    assert isinstance(scored[0], ContributionScored)
    assert stages[1].process(scored) == []
    assert stages[2].get(event.contribution_id) is None
    outcomes = outcomes_of(stages[1].process([event]))
    assert stages[2].get(event.contribution_id).state == "auto_hidden"
    assert [o.outcome for o in outcomes] == ["hidden"]


def test_replayed_events_emit_the_same_outcome_ids(stages: Any) -> None:
    event = identified(7, "You are an idiot.", "en")
    scored = stages[0].process([event])
    first = outcomes_of(stages[1].process([event, *scored]))
    assert len(first) == 1
    # Applied before (a crash between the store write and the publish): the same outcome,
    # same id, is owed again — never lost, and delivery drops the repeat.
    again = outcomes_of(stages[1].process([event, *scored]))
    assert again and {e.event_id for e in again} == {first[0].event_id}
