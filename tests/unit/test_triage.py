"""Triage applies LanguageIdentified idempotently to the real embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.schemas import (
    ContributionSubmitted,
    LanguageIdentified,
    LanguageResult,
    ModerationDecided,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution


def identified(version: int = 1, lang: str | None = "en", **overrides: Any) -> LanguageIdentified:
    source = ContributionSubmitted(contribution=contribution(1, version=version, **overrides))
    return source.derive(
        LanguageIdentified,
        producer="langid",
        contribution=source.contribution,
        language=LanguageResult(lang=lang, confidence=0.9, reliable=lang is not None, method="t"),
        detector="t",
    )


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store.sqlite3")


def test_items_land_in_needs_review_with_their_language(store: EmbeddedStore) -> None:
    TriageStage(store, wait_for_scores=False).process([identified(lang="pl")])
    item = store.get("decidim-test:c-1")
    assert item is not None
    assert (item.state, item.language_code, item.version) == ("needs_review", "pl", 1)


def test_the_same_event_twice_changes_nothing(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    event = identified()
    triage.apply(event)
    before = store.get("decidim-test:c-1")
    assert before is not None and before.revision == 1
    assert triage.apply(event) == []
    assert store.get("decidim-test:c-1") == before
    assert store.was_applied(str(event.event_id))


def test_an_older_version_never_overwrites_a_newer_one(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified(version=2, body="Second version of the text.", lang="de"))
    triage.apply(identified(version=1, body="First version.", lang="en"))
    item = store.get("decidim-test:c-1")
    assert item is not None
    assert (item.version, item.language_code) == (2, "de")
    assert item.contribution.body == "Second version of the text."


def test_a_new_version_reopens_a_decided_item(store: EmbeddedStore) -> None:
    triage = TriageStage(store, wait_for_scores=False)
    triage.apply(identified(version=1))
    triage.apply(
        ModerationDecided(
            contribution_id="decidim-test:c-1",
            contribution_version=1,
            decision="approve",
            moderator="ana",
            seen_decisions=0,
        )
    )
    assert store.get("decidim-test:c-1").state == "approved"  # type: ignore[union-attr]
    triage.apply(identified(version=1, lang="en"))  # re-identification of the same version
    assert store.get("decidim-test:c-1").state == "approved"  # type: ignore[union-attr]
    triage.apply(identified(version=2, body="Edited after approval."))
    item = store.get("decidim-test:c-1")
    assert item is not None
    assert (item.state, item.version) == ("needs_review", 2)


def test_unknown_language_still_reaches_the_queue(store: EmbeddedStore) -> None:
    TriageStage(store, wait_for_scores=False).process([identified(lang=None)])
    item = store.get("decidim-test:c-1")
    assert item is not None and item.state == "needs_review" and item.language_code is None
