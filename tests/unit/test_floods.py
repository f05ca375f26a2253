"""Near-duplicate floods: one cluster per campaign, however its members arrive."""

from __future__ import annotations

import random

from pipeline.models.floods import FloodDetector

BASES = [
    "Sign the petition now at http://petition-flood.example to stop the new bypass road",
    "Stop the bypass road: sign the petition now at http://petition-flood.example",
]
FILLERS = ["please", "today", "now", "friends", "everyone", "!!!", "share it"]


def flood_text(rng: random.Random) -> str:
    text = rng.choice(BASES)
    return f"{text} {rng.choice(FILLERS)} {rng.choice(FILLERS)}"


def test_fifty_near_identical_comments_from_twenty_authors_form_one_cluster() -> None:
    rng = random.Random(3)
    floods = FloodDetector(0.7)
    cluster_of: dict[str, str | None] = {}
    for n in range(50):
        key = f"decidim:c-{n}#1"
        text = flood_text(rng) if n % 5 else BASES[n % 2]  # a few exact copies too
        match = floods.add(key, f"{text} (from author a{n % 20})")
        cluster_of[key] = match.cluster_id
        for member in match.joined:
            cluster_of[member] = match.cluster_id
    # Everything ends up in the cluster of the last match (clusters merge as they bridge).
    final = match.cluster_id
    assert final is not None
    assert set(cluster_of.values()) == {final}
    assert match.size == 50
    assert len(floods.members(final)) == 50


def test_unrelated_texts_and_short_comments_stay_alone() -> None:
    floods = FloodDetector(0.7)
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
    floods = FloodDetector(0.7)
    text = "Build a safe cycle lane along the river from the station to the old town centre."
    floods.add("p:c-1#1", text)
    assert floods.add("p:c-1#2", text + " Updated.").cluster_id is None
    assert floods.add("p:c-2#1", text).cluster_id is not None


def test_the_window_forgets_old_contributions() -> None:
    floods = FloodDetector(0.7, window=10)
    text = "Sign the petition now at http://petition-flood.example to stop the road"
    floods.add("old#1", text)
    for n in range(12):
        floods.add(f"filler-{n}#1", f"An unrelated proposal number {n} about {n * 7} new parks")
    assert floods.add("new#1", text).cluster_id is None
