"""The scorer-state contract: SQLite (beside the embedded store) and Redis give the same answers."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.models.floods import FloodDetector
from pipeline.store.embedded import EmbeddedStore
from pipeline.store.redis import RedisStore
from pipeline.store.scorer_state import (
    Facts,
    Observation,
    ScorerLimits,
    ScorerState,
    cluster_name,
    open_scorer_state,
)
from tests.unit.test_floods import BASES, FILLERS

T0 = 1_795_000_000_000  # ms
DETECTOR = FloodDetector(0.7)
UNRELATED = [
    "We need more night trains between the capitals of Europe.",
    "Wir brauchen mehr Radwege in unserer Stadt und sichere Kreuzungen.",
    "Il faut protéger les forêts et les rivières de nos régions.",
    "An unrelated proposal about a public library in the old harbour district.",
]

OpenState = Callable[..., ScorerState]


def flood(count: int, seed: int = 0) -> list[str]:
    """One campaign: the same text with two random words appended."""
    rng = random.Random(seed)
    return [f"{BASES[0]} {rng.choice(FILLERS)} {rng.choice(FILLERS)}" for _ in range(count)]


@pytest.fixture(params=["embedded", "redis"])
def open_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenState]:
    """Opens states that share one backend (as replicas do); every test gets its own."""
    opened: list[ScorerState] = []
    stores: list[EmbeddedStore | RedisStore] = []
    prefix = f"test-{uuid.uuid4().hex[:8]}:"

    def open_one(limits: ScorerLimits | None = None) -> ScorerState:
        store: EmbeddedStore | RedisStore
        if request.param == "embedded":
            store = EmbeddedStore(tmp_path / "store.sqlite3")
        else:
            server = request.getfixturevalue("redis_server")
            store = RedisStore(server.url, key_prefix=prefix)
        stores.append(store)
        state = open_scorer_state(store, limits or ScorerLimits())
        opened.append(state)
        return state

    open_one.stores = stores  # type: ignore[attr-defined]
    yield open_one
    for state in opened:
        state.close()
    for store in stores:
        store.close()


def seen(n: int, text: str, author: str = "a", *, version: int = 1, at: int = 0) -> Observation:
    return Observation(f"p:c-{n}#{version}", author, T0 + at, DETECTOR.bands(text))


def test_a_flood_forms_one_cluster_named_after_its_first_member(open_state: OpenState) -> None:
    state = open_state()
    facts = state.observe([seen(n, text) for n, text in enumerate(flood(40))])
    final = facts[-1]
    assert final.cluster_size == 40
    assert final.cluster_id == cluster_name("p:c-0#1")
    assert len(state.members(final.cluster_id)) == 40
    assert state.members(final.cluster_id)[0] == "p:c-0#1"
    # Every member was told its cluster: in its own facts or in a later notify.
    told = {f"p:c-{n}#1" for n, f in enumerate(facts) if f.cluster_id}
    told |= {key for f in facts for key in f.notify}
    assert told == {f"p:c-{n}#1" for n in range(40)}


def test_reaching_the_minimum_size_notifies_every_earlier_member(open_state: OpenState) -> None:
    state = open_state(ScorerLimits(flood_min_size=4))
    text = "Sign the petition now at http://petition-flood.example to stop the new bypass road"
    facts = [state.observe([seen(n, text)])[0] for n in range(6)]
    assert [f.cluster_size for f in facts] == [0, 2, 3, 4, 5, 6]
    assert facts[1].notify == ("p:c-0#1",)  # joined just now
    assert facts[2].notify == ()
    assert facts[3].notify == ("p:c-0#1", "p:c-1#1", "p:c-2#1")  # the flood is now a flood
    assert facts[4].notify == ()


def test_a_replay_returns_the_recorded_facts_and_counts_nothing_twice(
    open_state: OpenState,
) -> None:
    state = open_state(ScorerLimits(flood_min_size=3))
    text = "Stop the bypass road: sign the petition now at http://petition-flood.example"
    batch = [seen(n, text, author="same") for n in range(4)]
    first = state.observe(batch)
    again = state.observe(batch)
    assert again == first
    assert [f.prior_contributions for f in first] == [0, 1, 2, 3]
    after = state.observe([seen(9, text, author="same")])[0]
    assert after.prior_contributions == 4  # the replay counted nothing
    assert after.cluster_size == 5
    assert state.observe([batch[2], batch[2]]) == [first[2], first[2]]  # twice in one batch


def test_burst_counts_an_authors_posts_in_the_window(open_state: OpenState) -> None:
    state = open_state(ScorerLimits(burst_window_ms=600_000))
    got = state.observe([seen(n, "+1", author="busy", at=n * 10_000) for n in range(5)])
    assert [f.burst_count for f in got] == [1, 2, 3, 4, 5]
    later = state.observe([seen(9, "+1", author="busy", at=2 * 3_600_000)])[0]
    assert later.burst_count == 1
    other = state.observe([seen(10, "+1", author="calm", at=0)])[0]
    assert (other.burst_count, other.prior_contributions) == (1, 0)


def test_unrelated_and_short_texts_stay_alone(open_state: OpenState) -> None:
    state = open_state()
    got = state.observe([seen(n, t) for n, t in enumerate([*UNRELATED, "+1", "+1", "Agreed!"])])
    assert all(f == Facts(f.prior_contributions, f.burst_count) for f in got)


def test_an_edit_leaves_the_index_of_its_earlier_version(open_state: OpenState) -> None:
    state = open_state()
    text = "Build a safe cycle lane along the river from the station to the old town centre."
    state.observe([seen(1, text)])
    assert state.observe([seen(1, text + " Updated.", version=2)])[0].cluster_id is None
    joined = state.observe([seen(2, text)])[0]
    assert joined.cluster_id is not None
    assert state.members(joined.cluster_id) == ("p:c-1#2", "p:c-2#1")


def test_the_window_forgets_old_members(open_state: OpenState) -> None:
    state = open_state(ScorerLimits(flood_window=10))
    text = "Sign the petition now at http://petition-flood.example to stop the road"
    state.observe([seen(0, text)])
    fillers = [
        seen(n, f"An unrelated proposal number {n} about {n * 7} new parks") for n in range(1, 13)
    ]
    state.observe(fillers)
    assert state.observe([seen(99, text)])[0].cluster_id is None


def test_bridging_texts_merge_clusters_into_the_larger(open_state: OpenState) -> None:
    state = open_state(ScorerLimits(flood_min_size=2))
    a = "Close the coal plant at the northern river before the summer of next year please"
    b = "Open a new public swimming pool next to the central railway station this autumn"
    state.observe([seen(n, a) for n in range(3)] + [seen(n, b) for n in range(3, 5)])
    small, large = state.members(cluster_name("p:c-3#1")), state.members(cluster_name("p:c-0#1"))
    assert (len(large), len(small)) == (3, 2)
    bridge = Observation("p:c-9#1", "x", T0, DETECTOR.bands(a)[:4] + DETECTOR.bands(b)[4:])
    merged = state.observe([bridge])[0]
    assert merged.cluster_id == cluster_name("p:c-0#1")
    assert merged.cluster_size == 6
    assert set(merged.notify) == {"p:c-3#1", "p:c-4#1"}
    assert state.members(cluster_name("p:c-3#1")) == ()


def test_replicas_building_concurrently_make_one_cluster(open_state: OpenState) -> None:
    replicas = [open_state(), open_state()]
    texts = flood(120)

    def work(state: ScorerState, start: int) -> None:
        for first in range(start, 120, 20):  # batches of 10, interleaved with the other replica
            state.observe([seen(n, texts[n]) for n in range(first, first + 10)])

    threads = [threading.Thread(target=work, args=(s, i * 10)) for i, s in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = replicas[0].observe([seen(500, texts[0])])[0]
    assert final.cluster_size == 121
    assert set(replicas[1].members(final.cluster_id or "")) == {
        *(f"p:c-{n}#1" for n in range(120)),
        "p:c-500#1",
    }


def test_clearing_the_store_for_a_rebuild_keeps_the_scorer_state(open_state: OpenState) -> None:
    state = open_state()
    text = "Stop the bypass road: sign the petition now at http://petition-flood.example"
    first = state.observe([seen(n, text, author="same") for n in range(3)])
    open_state.stores[0].clear()  # type: ignore[attr-defined]
    after = state.observe([seen(3, text, author="same")])[0]
    assert (after.cluster_id, after.cluster_size) == (first[-1].cluster_id, 4)
    assert after.prior_contributions == 3
