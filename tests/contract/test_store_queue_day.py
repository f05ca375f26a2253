"""The store contract for a moderator's day: the fair order, claiming the next item, search."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from pipeline.schemas.events import Translation
from pipeline.schemas.queue import QueueItem
from pipeline.store import redis as redis_store
from pipeline.store.base import QueueQuery, QueueStore
from tests.contract.test_store_contract import NOW, qids, scored


def at(row: QueueItem, minutes: int) -> QueueItem:
    """``row`` created ``minutes`` after the contract's base time."""
    created = NOW.replace(day=20) + timedelta(minutes=minutes)
    return row.model_copy(
        update={"contribution": row.contribution.model_copy(update={"created_at": created})}
    )


def seed_ties(store: QueueStore) -> None:
    """Equal priorities whose ids run against their ages (c-9 is the oldest)."""
    rows = [
        at(scored(9, space="climate"), 1),
        at(scored(8, space="climate", lang="de"), 2),
        at(scored(7, space="housing"), 3),
        at(scored(6, space="climate"), 3),  # same age as c-7: the lower id first
        at(scored(5, priority=0.5, space="climate"), 9),
        at(scored(4, space="climate", state="escalated"), 0),
    ]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"t{n}", expected_revision=0)


def test_equal_priorities_come_oldest_first_in_every_view(store: QueueStore) -> None:
    seed_ties(store)
    review = ("needs_review",)
    assert qids(store.query(QueueQuery(states=review))) == ["c-5", "c-9", "c-8", "c-6", "c-7"]
    climate = QueueQuery(states=review, space="climate")
    assert qids(store.query(climate)) == ["c-5", "c-9", "c-8", "c-6"]
    assert qids(store.query(QueueQuery(states=review, language="en"))) == [
        "c-5",
        "c-9",
        "c-6",
        "c-7",
    ]
    both = QueueQuery(states=("needs_review", "escalated"), space="climate")
    assert qids(store.query(both)) == ["c-5", "c-4", "c-9", "c-8", "c-6"]
    assert qids(store.query(both.model_copy(update={"space": None}))) == [
        "c-5",
        "c-4",
        "c-9",
        "c-8",
        "c-6",
        "c-7",
    ]
    paged = store.query(climate.model_copy(update={"limit": 2, "offset": 1}))
    assert (qids(paged), paged.total) == (["c-9", "c-8"], 4)
    oldest = QueueQuery(states=review, order="oldest", space="climate")
    assert qids(store.query(oldest)) == ["c-9", "c-8", "c-6", "c-5"]
    newest = QueueQuery(states=review, order="newest")
    assert qids(store.query(newest)) == ["c-5", "c-7", "c-6", "c-8", "c-9"]


def test_several_languages_at_once(store: QueueStore) -> None:
    seed_ties(store)
    several = QueueQuery(states=("needs_review",), languages=("de", "en"))
    assert store.query(several).total == 5
    only_de = QueueQuery(languages=("de",), space="climate")
    assert qids(store.query(only_de)) == ["c-8"]


def claim_all(store: QueueStore, query: QueueQuery, holders: int) -> list[str]:
    """Every holder claims next until nothing is left; the ids each got, all together."""
    got: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(holders)

    def work(name: str) -> None:
        start.wait()
        mine: list[str] = []
        while (item := store.claim_next(query, name, 60, exclude=mine)) is not None:
            mine.append(item.contribution_id)
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=work, args=(f"m{n}",)) for n in range(holders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return got


def test_claim_next_never_hands_one_item_to_two_moderators(store: QueueStore) -> None:
    rows = [at(scored(n, lang="pl" if n % 4 else "de"), n) for n in range(1, 81)]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"c{n}", expected_revision=0)
    query = QueueQuery(states=("needs_review",), language="pl")
    got = claim_all(store, query, holders=8)
    assert len(got) == len(set(got)) == 60
    assert {store.lease_holder(cid) for cid in got} <= {f"m{n}" for n in range(8)}
    assert store.claim_next(query, "late", 60) is None


def test_claim_next_follows_the_view_order_and_skips_others_claims(store: QueueStore) -> None:
    seed_ties(store)
    query = QueueQuery(states=("needs_review",), space="climate")
    first = store.claim_next(query, "alice", 60)
    assert first is not None and first.contribution.id == "c-5"
    second = store.claim_next(query, "bob", 60)
    assert second is not None and second.contribution.id == "c-9"
    again = store.claim_next(query, "alice", 60)  # her own claim is still hers
    assert again is not None and again.contribution.id == "c-5"
    skipping = store.claim_next(query, "alice", 60, exclude=["decidim-test:c-5"])
    assert skipping is not None and skipping.contribution.id == "c-8"
    assert store.release("decidim-test:c-9", "bob")
    carol = store.claim_next(query, "carol", 60)
    assert carol is not None and carol.contribution.id == "c-9"


def texts(store: QueueStore) -> None:
    def row(n: int, body: str, **kw: Any) -> QueueItem:
        base = at(scored(n, **kw), n)
        c = base.contribution.model_copy(update={"body": body, "title": kw.get("title")})
        return base.model_copy(update={"contribution": c})

    translated = row(3, "Więcej ławek w parku, proszę.", lang="pl").model_copy(
        update={
            "translations": [
                Translation(
                    field="body",
                    target_language="en",
                    text="More benches in the Park, please.",
                    origin="machine",
                )
            ]
        }
    )
    rows = [
        row(1, "Les élèves du LYCÉE veulent un café."),
        row(2, "Straßenbahn über die Brücke", lang="de", state="escalated"),
        translated,
        row(4, "Benches, benches everywhere", space="housing"),
    ]
    for n, item in enumerate(rows):
        store.save(item, event_id=f"x{n}", expected_revision=0)


def test_search_ignores_case_and_accents_over_texts_translations_and_ids(
    store: QueueStore,
) -> None:
    texts(store)

    def found(text: str, **kw: Any) -> list[str]:
        return sorted(qids(store.query(QueueQuery(text=text, **kw))))

    assert found("lycee cafe") == ["c-1"]
    assert found("ÉLÈVES") == ["c-1"]
    assert found("brucke") == ["c-2"]
    assert found("BENCHES") == ["c-3", "c-4"]
    assert found("benches park") == ["c-3"]
    assert found("ŁAWEK") == ["c-3"]
    assert found("c-4") == ["c-4"]
    assert found("decidim-test:c-2") == ["c-2"]
    assert found("benches", states=("needs_review",), space="housing") == ["c-4"]
    assert found("tramway") == []
    page = store.query(QueueQuery(text="benches", order="oldest"))
    assert (qids(page), page.total) == (["c-3", "c-4"], 2)


def test_search_follows_edits(store: QueueStore) -> None:
    texts(store)
    current = store.get("decidim-test:c-4")
    assert current is not None
    edited = current.contribution.model_copy(update={"body": "A tramway instead"})
    store.save(
        current.model_copy(update={"contribution": edited}),
        event_id="edit",
        expected_revision=current.revision,
    )
    assert qids(store.query(QueueQuery(text="tramway"))) == ["c-4"]
    assert qids(store.query(QueueQuery(text="benches"))) == ["c-3"]


def test_a_common_word_is_searched_in_the_fair_order(
    store: QueueStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis walks its order index for words in many items: the same pages as intersecting."""
    monkeypatch.setattr(redis_store, "WALK_ABOVE", 1)
    seed_ties(store)
    review = ("needs_review",)
    trees = QueueQuery(states=review, text="Trees")
    page = store.query(trees)
    assert (qids(page), page.total) == (["c-5", "c-9", "c-8", "c-6", "c-7"], 5)
    paged = store.query(trees.model_copy(update={"limit": 2, "offset": 1}))
    assert (qids(paged), paged.total) == (["c-9", "c-8"], 5)
    assert qids(store.query(trees.model_copy(update={"order": "oldest", "limit": 2}))) == [
        "c-9",
        "c-8",
    ]
    assert qids(store.query(trees.model_copy(update={"order": "newest", "limit": 1}))) == ["c-5"]
    assert store.query(QueueQuery(states=review, text="trees nowhere")).total == 0
    everywhere = store.query(QueueQuery(text="trees", order="oldest"))
    assert qids(everywhere) == ["c-4", "c-9", "c-8", "c-6", "c-7", "c-5"]
