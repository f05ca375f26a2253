"""The store contract: every implementation must pass these unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.schemas import Contribution, LanguageResult
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueStore, SaveResult
from tests.conftest import contribution

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def item(
    n: int,
    *,
    state: str = "needs_review",
    priority: float = 0.0,
    lang: str | None = "en",
    version: int = 1,
) -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(n, version=version)),
        state=state,  # type: ignore[arg-type]
        priority=priority,
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="test")
        if lang
        else None,
        submitted_at=NOW,
        updated_at=NOW,
    )


def test_save_and_get_round_trip(store: QueueStore) -> None:
    assert store.get("decidim-test:c-1") is None
    assert store.save(item(1), event_id="e1", expected_revision=0) is SaveResult.SAVED
    got = store.get("decidim-test:c-1")
    assert got is not None
    assert got.revision == 1
    assert got.language_code == "en"
    assert got.model_copy(update={"revision": 0}) == item(1)


def test_the_same_event_applies_once(store: QueueStore) -> None:
    assert store.save(item(1), event_id="e1", expected_revision=0) is SaveResult.SAVED
    assert (
        store.save(item(1, state="approved"), event_id="e1", expected_revision=1)
        is SaveResult.DUPLICATE
    )
    assert store.get("decidim-test:c-1").state == "needs_review"  # type: ignore[union-attr]
    assert store.was_applied("e1")
    assert not store.was_applied("e2")


def test_stale_revision_is_a_conflict_not_an_overwrite(store: QueueStore) -> None:
    store.save(item(1), event_id="e1", expected_revision=0)
    store.save(item(1, state="approved"), event_id="e2", expected_revision=1)
    assert (
        store.save(item(1, state="rejected"), event_id="e3", expected_revision=1)
        is SaveResult.CONFLICT
    )
    stored = store.get("decidim-test:c-1")
    assert stored is not None and (stored.state, stored.revision) == ("approved", 2)
    assert not store.was_applied("e3")
    assert store.save(item(2), event_id="e4", expected_revision=5) is SaveResult.CONFLICT


def test_mark_applied_is_idempotent(store: QueueStore) -> None:
    assert store.mark_applied("x")
    assert not store.mark_applied("x")
    assert store.save(item(1), event_id="x", expected_revision=0) is SaveResult.DUPLICATE


def test_list_by_state_language_priority_and_age(store: QueueStore) -> None:
    specs = [
        (1, "needs_review", 0.2, "en"),
        (2, "needs_review", 0.9, "de"),
        (3, "needs_review", 0.5, "en"),
        (4, "approved", 1.0, "en"),
        (5, "needs_review", 0.9, "en"),
    ]
    for n, state, priority, lang in specs:
        store.save(
            item(n, state=state, priority=priority, lang=lang),
            event_id=f"e{n}",
            expected_revision=0,
        )
    ids = lambda items: [i.contribution.id for i in items]  # noqa: E731
    assert ids(store.list_items(state="needs_review")) == ["c-2", "c-5", "c-3", "c-1"]
    assert ids(store.list_items(state="needs_review", order="oldest")) == [
        "c-1",
        "c-2",
        "c-3",
        "c-5",
    ]
    assert ids(store.list_items(state="needs_review", language="en")) == ["c-5", "c-3", "c-1"]
    assert ids(store.list_items(state="needs_review", limit=2, offset=1)) == ["c-5", "c-3"]
    assert store.counts() == {"needs_review": 4, "approved": 1}
    assert ids(store.iter_items()) == ["c-1", "c-2", "c-3", "c-4", "c-5"]


def test_state_change_moves_the_item_between_indexes(store: QueueStore) -> None:
    store.save(item(1), event_id="e1", expected_revision=0)
    store.save(item(1, state="approved"), event_id="e2", expected_revision=1)
    assert store.list_items(state="needs_review") == []
    assert [i.contribution.id for i in store.list_items(state="approved")] == ["c-1"]
    assert store.counts() == {"approved": 1}


def test_unknown_language_items_are_kept(store: QueueStore) -> None:
    store.save(item(1, lang=None), event_id="e1", expected_revision=0)
    assert store.get("decidim-test:c-1").language is None  # type: ignore[union-attr]
    assert len(store.list_items(state="needs_review")) == 1


def test_clear_forgets_items_and_applied_events(store: QueueStore) -> None:
    store.save(item(1), event_id="e1", expected_revision=0)
    store.clear()
    assert store.counts() == {}
    assert list(store.iter_items()) == []
    assert not store.was_applied("e1")
    assert store.save(item(1), event_id="e1", expected_revision=0) is SaveResult.SAVED
