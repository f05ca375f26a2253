"""Campaigns across languages through the whole embedded pipeline, on real Apertium output.

One message, human-written in five languages (tests/data/campaign_multilingual.jsonl), posted
by five accounts is one cluster; five different opinions on the same subject
(tests/data/same_topic_opinions.jsonl) stay five items.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apertium_check import require_apertium
from tests.conftest import REPO, contribution
from tests.integration.conftest import hemicycle

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages

DATA = REPO / "tests" / "data"


def rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


def test_one_message_in_five_languages_is_one_campaign(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    require_apertium()
    env = dict(
        embedded_env,
        HEMICYCLE_TRANSLATION_ENGINES="apertium",
        HEMICYCLE_TARGET_LANGUAGES="en,es,pt,it,fr,ro",
    )
    campaign = [r for r in rows("campaign_multilingual.jsonl") if r["language"] != "en"]
    opinions = rows("same_topic_opinions.jsonl")[:5]
    assert len({r["language"] for r in campaign}) == 5
    assert len({r["language"] for r in opinions}) == 5
    posted = [
        contribution(n, body=r["body"], author=r["author"], locale_hint=r["language"])
        for n, r in enumerate(campaign + opinions, start=1)
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in posted) + "\n")
    hemicycle(env, "ingest", str(source))
    hemicycle(env, "run", "--until-idle")
    exported = {r["id"]: r for r in map(json.loads, hemicycle(env, "export").stdout.splitlines())}

    members = [exported[f"c-{n}"] for n in range(1, 6)]
    assert {m["language"] for m in members} == {"es", "pt", "it", "fr", "ro"}
    [cluster] = {m["cluster_id"] for m in members}
    assert cluster is not None and cluster.startswith("m-")
    assert all(any("cluster " + cluster in reason for reason in m["reasons"]) for m in members)
    others = [exported[f"c-{n}"] for n in range(6, 11)]
    assert all(o["cluster_id"] is None for o in others), [o["cluster_id"] for o in others]
