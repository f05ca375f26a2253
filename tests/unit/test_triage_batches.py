"""Triage folds each contribution's events of a batch into one write, with the same result as
applying them one by one (and the same outcome ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.schemas import (
    ContributionScored,
    ContributionTranslated,
    LanguageIdentified,
    Score,
    Translation,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.unit.test_triage import identified


def results_of(first: LanguageIdentified) -> list[Any]:
    scored = first.derive(
        ContributionScored,
        producer="scorer",
        scores=[Score(category="toxicity", value=0.97, model="m")],
        spam_score=0.1,
    )
    translated = [
        first.derive(
            ContributionTranslated,
            producer="translator",
            part=lang,
            source_language="en",
            translations=[
                Translation(field="body", target_language=lang, text=f"[{lang}]", origin="machine")
            ],
        )
        for lang in ("de", "fr", "pl")
    ]
    return [first, scored, *translated]


def comparable(store: EmbeddedStore) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in store.iter_items()]


def test_a_batch_equals_one_by_one_and_writes_once_per_contribution(tmp_path: Path) -> None:
    events = results_of(identified()) + results_of(identified(version=2, body="Edited text."))
    one_by_one = EmbeddedStore(tmp_path / "a.sqlite3")
    stage = TriageStage(one_by_one)
    sequential = [out for event in events for out in stage.apply(event)]
    batched_store = EmbeddedStore(tmp_path / "b.sqlite3")
    batched = TriageStage(batched_store).process(events)
    assert comparable(batched_store) == comparable(one_by_one)
    assert [str(e.event_id) for e in batched] == [str(e.event_id) for e in sequential]
    assert batched and batched[0].outcome == "hidden"
    item = batched_store.get("decidim-test:c-1")
    assert item is not None and item.version == 2 and item.revision == len(events)
    assert all(batched_store.was_applied(str(e.event_id)) for e in events)
    # The batch again (a redelivery after a crash): nothing changes, and what the state owes
    # the platform is emitted again with the same ids (delivery drops the repeats).
    again = TriageStage(batched_store).process(events)
    assert again and {e.event_id for e in again} <= {e.event_id for e in batched}
    assert comparable(batched_store) == comparable(one_by_one)


def test_a_partly_applied_batch_falls_back_to_one_by_one(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    events = results_of(identified())
    TriageStage(store).apply(events[0])
    TriageStage(store).process(events)
    item = store.get("decidim-test:c-1")
    assert item is not None
    assert sorted(t.target_language for t in item.translations) == ["de", "fr", "pl"]
    assert item.scored and item.state == "auto_hidden"
