"""The store contract: every implementation must pass these unchanged."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from pipeline.schemas import Contribution, LanguageResult
from pipeline.schemas.events import Score
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueuePage, QueueQuery, QueueStore, SaveResult, Write
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


def scored(n: int, **kw: Any) -> QueueItem:
    """An item with facets and scores for the query tests."""
    base = item(n, **{k: kw.pop(k) for k in ("state", "priority", "lang") if k in kw})
    c = base.contribution.model_copy(
        update={k: kw.pop(k) for k in ("space", "kind", "author") if k in kw}
    )
    return base.model_copy(
        update={
            "contribution": c,
            "cluster_id": kw.pop("cluster", None),
            "spam_score": kw.pop("spam", None),
            "scores": [
                Score(category=cat, value=v, model="test") for cat, v in kw.pop("tox", {}).items()
            ],
        }
    )


def seed_query_items(store: QueueStore) -> None:
    rows = [
        scored(1, priority=0.5, space="climate", author="u-1", tox={"toxicity": 0.9}),
        scored(2, priority=0.9, space="housing", author="u-1", cluster="k1", spam=0.8),
        scored(3, priority=0.5, space="climate", kind="comment", lang="de", cluster="k1"),
        scored(4, state="escalated", priority=0.2, author="u-1", tox={"toxicity": 0.3}),
        scored(5, state="approved", priority=0.1, space="climate", lang=None),
        scored(6, priority=0.7, author="u-2", space="youth", tox={"toxicity": 0.5, "insult": 0.95}),
    ]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"q{n}", expected_revision=0)


def qids(page: QueuePage) -> list[str]:
    return [i.contribution.id for i in page.items]


def test_query_filters_each_facet_and_counts_the_matches(store: QueueStore) -> None:
    seed_query_items(store)
    review = ("needs_review",)
    page = store.query(QueueQuery(states=review))
    assert (qids(page), page.total) == (["c-2", "c-6", "c-1", "c-3"], 4)
    assert qids(store.query(QueueQuery(states=review, space="climate"))) == ["c-1", "c-3"]
    assert qids(store.query(QueueQuery(states=review, kind="comment"))) == ["c-3"]
    assert qids(store.query(QueueQuery(states=review, language="de"))) == ["c-3"]
    assert qids(store.query(QueueQuery(language="und"))) == ["c-5"]
    assert qids(store.query(QueueQuery(cluster="k1", order="oldest"))) == ["c-2", "c-3"]
    by_author = store.query(QueueQuery(author="u-1", order="newest"))
    assert (qids(by_author), by_author.total) == (["c-4", "c-2", "c-1"], 3)
    toxic = QueueQuery(states=review, category="toxicity", min_score=0.5)
    assert qids(store.query(toxic)) == ["c-6", "c-1"]
    assert qids(store.query(toxic.model_copy(update={"max_score": 0.6}))) == ["c-6"]
    assert qids(store.query(QueueQuery(category="spam", min_score=0.5))) == ["c-2"]
    assert qids(store.query(QueueQuery(category="insult", min_score=0.9))) == ["c-6"]
    combined = QueueQuery(states=review, author="u-1", space="climate", category="toxicity")
    assert qids(store.query(combined)) == ["c-1"]


def test_query_spans_states_and_pages(store: QueueStore) -> None:
    seed_query_items(store)
    several = QueueQuery(states=("needs_review", "escalated", "approved"), order="oldest")
    assert qids(store.query(several)) == ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"]
    page = store.query(several.model_copy(update={"limit": 2, "offset": 2}))
    assert (qids(page), page.total) == (["c-3", "c-4"], 6)
    newest = store.query(several.model_copy(update={"order": "newest", "limit": 2}))
    assert qids(newest) == ["c-6", "c-5"]
    prio = store.query(several.model_copy(update={"order": "priority"}))
    assert qids(prio) == ["c-2", "c-6", "c-1", "c-3", "c-4", "c-5"]
    window = QueueQuery(
        created_after=NOW.replace(day=20, minute=2), created_before=NOW.replace(day=20, minute=4)
    )
    assert sorted(qids(store.query(window))) == ["c-2", "c-3", "c-4"]
    filtered = store.query(QueueQuery(states=("escalated", "approved"), author="u-1"))
    assert (qids(filtered), filtered.total) == (["c-4"], 1)


def test_query_follows_state_changes(store: QueueStore) -> None:
    seed_query_items(store)
    current = store.get("decidim-test:c-2")
    assert current is not None
    store.save(
        current.model_copy(update={"state": "rejected", "cluster_id": None}),
        event_id="move",
        expected_revision=current.revision,
    )
    assert qids(store.query(QueueQuery(states=("needs_review",), cluster="k1"))) == ["c-3"]
    assert qids(store.query(QueueQuery(states=("rejected",), author="u-1"))) == ["c-2"]
    assert store.query(QueueQuery(cluster="k1")).total == 1


def test_audit_log_appends_and_reads_newest_first(store: QueueStore) -> None:
    ids = [store.audit_append(json.dumps({"n": n})) for n in range(5)]
    assert [json.loads(e)["n"] for _, e in store.audit_read()] == [4, 3, 2, 1, 0]
    older = store.audit_read(before=ids[2], limit=5)
    assert [json.loads(e)["n"] for _, e in older] == [1, 0]
    store.clear()
    assert len(store.audit_read()) == 5


def test_one_save_can_record_several_applied_events(store: QueueStore) -> None:
    saved = store.save(item(1), event_id="e1", expected_revision=0, also_applied=["e2", "e3"])
    assert saved is SaveResult.SAVED
    assert all(store.was_applied(e) for e in ("e1", "e2", "e3"))
    again = store.save(
        item(1, state="approved"), event_id="e4", expected_revision=1, also_applied=["e3"]
    )
    assert again is SaveResult.DUPLICATE  # e3 was applied: nothing is written
    assert not store.was_applied("e4")
    assert store.get("decidim-test:c-1").state == "needs_review"  # type: ignore[union-attr]


def test_a_save_keeps_the_revision_the_writer_counted(store: QueueStore) -> None:
    """Triage counts the events it folds into one write; the next write expects that count."""
    three = item(1).model_copy(update={"revision": 3})
    assert store.save(three, event_id="e1", expected_revision=0, also_applied=["e2", "e3"]) is (
        SaveResult.SAVED
    )
    assert store.get("decidim-test:c-1").revision == 3  # type: ignore[union-attr]
    assert store.save(item(1), event_id="e4", expected_revision=1) is SaveResult.CONFLICT
    four = item(1, state="approved").model_copy(update={"revision": 4})
    assert store.save(four, event_id="e4", expected_revision=3) is SaveResult.SAVED
    assert store.get("decidim-test:c-1").revision == 4  # type: ignore[union-attr]


def test_many_items_read_and_written_at_once(store: QueueStore) -> None:
    """One write refused (duplicate, conflict) leaves the others of the batch alone."""
    store.save(item(1), event_id="e1", expected_revision=0)
    store.save(item(2), event_id="e2", expected_revision=0)
    found = store.get_many(["decidim-test:c-1", "decidim-test:c-2", "decidim-test:c-9"])
    assert sorted(found) == ["decidim-test:c-1", "decidim-test:c-2"]
    results = store.save_many(
        [
            Write(item(1, state="approved").model_copy(update={"revision": 2}), "e3", 1),
            Write(item(2, state="rejected"), "e4", 0),  # stale: the stored revision is 1
            Write(item(3), "e5", 0, ["e1"]),  # e1 was applied before
            Write(item(4), "e6", 0, ["e7"]),
        ]
    )
    assert results == [
        SaveResult.SAVED,
        SaveResult.CONFLICT,
        SaveResult.DUPLICATE,
        SaveResult.SAVED,
    ]
    after = store.get_many([f"decidim-test:c-{n}" for n in (1, 2, 3, 4)])
    assert {cid: i.state for cid, i in after.items()} == {
        "decidim-test:c-1": "approved",
        "decidim-test:c-2": "needs_review",
        "decidim-test:c-4": "needs_review",
    }
    assert after["decidim-test:c-1"].revision == 2
    assert all(store.was_applied(e) for e in ("e3", "e6", "e7"))
    assert not any(store.was_applied(e) for e in ("e4", "e5"))


def test_cache_multi_get_and_multi_set(store: QueueStore) -> None:
    keys = [f"k{n}" for n in range(1_203)]  # more than one chunk in every backend
    store.cache_set_many("ns", {k: f"value of {k}" for k in keys[::2]})
    store.cache_set("other", "k1", "elsewhere")
    store.cache_set("ns", "empty", "")
    found = store.cache_get_many("ns", [*keys, "k0", "empty"])
    assert found == {k: f"value of {k}" for k in keys[::2]} | {"empty": ""}
    assert store.cache_get("ns", "k2") == "value of k2"
    assert store.cache_get_many("ns", []) == {}
    store.cache_set_many("ns", {})
    store.cache_set_many("ns", {"k0": "replaced", "k1": "new"})
    assert store.cache_get_many("ns", ["k0", "k1"]) == {"k0": "replaced", "k1": "new"}


def test_cache_multi_set_expires_with_its_ttl(store: QueueStore) -> None:
    store.cache_set_many("ns", {"gone": "x"}, ttl_s=0.001)
    store.cache_set_many("ns", {"kept": "y"}, ttl_s=3600)
    deadline = time.monotonic() + 5
    while store.cache_get_many("ns", ["gone"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.cache_get_many("ns", ["gone", "kept"]) == {"kept": "y"}


def test_the_interface_default_multi_get_agrees_with_the_backend(store: QueueStore) -> None:
    QueueStore.cache_set_many(store, "ns", {"a": "1", "b": "2"}, ttl_s=3600)
    assert QueueStore.cache_get_many(store, "ns", ["a", "b", "c", "a"]) == {"a": "1", "b": "2"}
    assert store.cache_get_many("ns", ["a", "b", "c"]) == {"a": "1", "b": "2"}
