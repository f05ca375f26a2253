"""Near-duplicate floods: one cluster per campaign, however its members arrive.

The signatures are pure (:class:`FloodDetector`); the index runs here on the in-memory SQLite
scorer state, and tests/contract/test_scorer_state.py holds every backend to the same answers.
"""

from __future__ import annotations

import random

import datasketch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.models.floods import FloodDetector, lsh_shape
from pipeline.store.scorer_state import Facts, Observation, ScorerLimits
from pipeline.store.scorer_state_sqlite import SqliteScorerState

BASES = [
    "Sign the petition now at http://petition-flood.example to stop the new bypass road",
    "Stop the bypass road: sign the petition now at http://petition-flood.example",
]
FILLERS = ["please", "today", "now", "friends", "everyone", "!!!", "share it"]


def flood_text(rng: random.Random) -> str:
    text = rng.choice(BASES)
    return f"{text} {rng.choice(FILLERS)} {rng.choice(FILLERS)}"


class Index:
    """A flood index in memory: what the scorer keeps in the store."""

    def __init__(self, similarity: float = 0.7, window: int = 20_000) -> None:
        self.detector = FloodDetector(similarity, window=window)
        self.state = SqliteScorerState.in_memory(ScorerLimits(flood_window=window))

    def add(self, key: str, text: str) -> Facts:
        observation = Observation(key, "author", 0, self.detector.bands(text))
        return self.state.observe([observation])[0]


def test_near_duplicates_share_a_band_and_unrelated_texts_do_not() -> None:
    floods = FloodDetector(0.7)
    one, two = floods.bands(BASES[0] + " please today"), floods.bands(BASES[0] + " share it")
    other = floods.bands("We need more night trains between the capitals of Europe.")
    assert one is not None and two is not None and other is not None
    assert len(one) == floods.band_count and floods.band_count * floods.rows == 64
    assert set(one) & set(two)
    assert not set(one) & set(other)
    assert floods.bands(BASES[0]) == FloodDetector(0.7).bands(BASES[0])  # stable across processes
    assert floods.bands("+1") is None


def test_fifty_near_identical_comments_from_twenty_authors_form_one_cluster() -> None:
    rng = random.Random(3)
    floods = Index()
    cluster_of: dict[str, str | None] = {}
    for n in range(50):
        key = f"decidim:c-{n}#1"
        text = flood_text(rng) if n % 5 else BASES[n % 2]  # a few exact copies too
        match = floods.add(key, f"{text} (from author a{n % 20})")
        cluster_of[key] = match.cluster_id
        for member in match.notify:
            cluster_of[member] = match.cluster_id
    # Everything ends up in the cluster of the last match (clusters merge as they bridge).
    final = match.cluster_id
    assert final is not None
    assert set(cluster_of.values()) == {final}
    assert match.cluster_size == 50
    assert len(floods.state.members(final)) == 50


def test_unrelated_texts_and_short_comments_stay_alone() -> None:
    floods = Index()
    texts = [
        "We need more night trains between the capitals of Europe.",
        "Wir brauchen mehr Radwege in unserer Stadt und sichere Kreuzungen.",
        "Il faut protéger les forêts et les rivières de nos régions.",
        "+1",
        "+1",
        "Agreed!",
    ]
    for n, text in enumerate(texts):
        assert floods.add(f"k{n}#1", text).cluster_id is None


def test_an_edit_is_not_a_duplicate_of_its_earlier_version() -> None:
    floods = Index()
    text = "Build a safe cycle lane along the river from the station to the old town centre."
    floods.add("p:c-1#1", text)
    assert floods.add("p:c-1#2", text + " Updated.").cluster_id is None
    assert floods.add("p:c-2#1", text).cluster_id is not None


def test_the_window_forgets_old_contributions() -> None:
    floods = Index(window=10)
    text = "Sign the petition now at http://petition-flood.example to stop the road"
    floods.add("old#1", text)
    for n in range(12):
        floods.add(f"filler-{n}#1", f"An unrelated proposal number {n} about {n * 7} new parks")
    assert floods.add("new#1", text).cluster_id is None


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_signatures_are_datasketch_affine32_bit_for_bit(text: str) -> None:
    """Keys stored by releases that hashed with datasketch 2 stay valid across an upgrade."""
    floods = FloodDetector(0.7)
    reference = datasketch.MinHash(num_perm=64, seed=7, scheme="affine32")
    reference.update_batch(list(floods.features(text)))
    ours = floods.signature(text)
    assert ours.dtype == reference.hashvalues.dtype
    assert ours.tolist() == reference.hashvalues.tolist()


@pytest.mark.parametrize("num_perm", [16, 64, 128])
def test_bands_and_rows_are_those_of_datasketch_minhash_lsh(num_perm: int) -> None:
    compared = 0
    for percent in range(5, 100, 5):
        similarity = percent / 100
        try:
            reference = datasketch.MinHashLSH(threshold=similarity, num_perm=num_perm)
        except ValueError:  # datasketch refuses a single band; ours keeps one (exact copies)
            assert lsh_shape(similarity, num_perm)[0] == 1
            continue
        assert lsh_shape(similarity, num_perm) == (reference.b, reference.r), similarity
        compared += 1
    assert compared >= 15


def test_a_similarity_near_one_keeps_one_band_of_every_row() -> None:
    floods = FloodDetector(0.99)
    assert (floods.band_count, floods.rows) == (1, 64)
    text = "Sign the petition now at http://petition-flood.example to stop the road"
    one, edited = floods.bands(text), floods.bands(text + " now")
    assert one is not None and edited is not None
    assert one == floods.bands(text) and not set(one) & set(edited)
