"""The store contract for the parent facet: the replies to a contribution, in any state."""

from __future__ import annotations

from pipeline.schemas.contribution import Contribution
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery, QueueStore, item_facets
from tests.conftest import contribution
from tests.contract.test_store_contract import item, qids


def reply(n: int, parent: str, *, state: str = "needs_review") -> QueueItem:
    base = item(n, state=state)
    c = Contribution.model_validate(contribution(n, kind="comment", parent_id=parent))
    return base.model_copy(update={"contribution": c})


def test_replies_are_found_by_their_parents_key(store: QueueStore) -> None:
    rows = [item(1), reply(2, "c-1"), reply(3, "c-1", state="approved"), reply(4, "c-2")]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"p{n}", expected_revision=0)
    assert item_facets(rows[1])["parent"] == "decidim-test:c-1"
    replies = store.query(QueueQuery(parent="decidim-test:c-1", order="oldest"))
    assert (qids(replies), replies.total) == (["c-2", "c-3"], 2)
    assert qids(store.query(QueueQuery(parent="decidim-test:c-2"))) == ["c-4"]
    assert store.query(QueueQuery(parent="other:c-1")).total == 0
    assert "parent" not in item_facets(rows[0])
