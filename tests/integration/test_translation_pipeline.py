"""Translation end to end with a real model trained at test time, installed through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import contribution
from tests.integration.conftest import hemicycle
from tests.translation_models import HELD_OUT

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages


def test_installed_model_translates_contributions_into_the_export(
    argos_package: Path, embedded_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(embedded_env, HEMICYCLE_TARGET_LANGUAGES="en,de,fr,ga")
    installed = hemicycle(env, "models", "install", str(argos_package))
    assert "en→de" in installed.stdout
    again = hemicycle(env, "models", "install", str(argos_package), check=False)
    assert again.returncode == 1 and "already" in again.stderr.lower()
    listed = hemicycle(env, "models", "list").stdout
    assert "argos" in listed and "en→de" in listed and "cpu" in listed

    (first_en, first_de), (second_en, second_de) = HELD_OUT[0], HELD_OUT[1]
    body = f"{first_en}\n\n{second_en}"
    rows = [
        contribution(1, body=body, title=HELD_OUT[2][0]),
        contribution(2, body=body),  # a copy: served from the cache
        contribution(3, body="   Wir brauchen mehr Nachtzüge zwischen den Hauptstädten."),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    hemicycle(env, "ingest", str(source))
    hemicycle(env, "run", "--until-idle")
    exported = {r["id"]: r for r in map(json.loads, hemicycle(env, "export").stdout.splitlines())}

    german = {
        t["field"]: t for t in exported["c-1"]["translations"] if t["target_language"] == "de"
    }
    assert german["body"]["text"] == f"{first_de}\n\n{second_de}"  # paragraphs kept
    assert german["title"]["text"] == HELD_OUT[2][1]
    assert german["body"]["origin"] == "machine"
    assert german["body"]["engine"] == "argos"
    assert german["body"]["route"] == ["en", "de"]
    unavailable = {
        u["target_language"]: u["reason"] for u in exported["c-1"]["translations_unavailable"]
    }
    assert unavailable == {"fr": "no model for en→fr", "ga": "no model for en→ga"}
    assert [t["text"] for t in exported["c-2"]["translations"]] == [german["body"]["text"]]
    de_source = exported["c-3"]
    assert de_source["language"] == "de" and de_source["translations"] == []
    assert {u["target_language"] for u in de_source["translations_unavailable"]} == {
        "en",
        "fr",
        "ga",
    }

    status = json.loads(hemicycle(env, "status", "--json").stdout)
    fan = status["events_per_contribution"]
    assert fan["submitted"] == 3
    # one ContributionTranslated per contribution, every target language in it
    assert status["topics"]["hemicycle.contributions.translated"] == 3
    assert fan["per_topic"]["hemicycle.contributions.translated"] == 1.0
    assert fan["per_topic"]["hemicycle.contributions.submitted"] == 1.0
    assert "hemicycle.deadletter" not in fan["per_topic"]
    assert fan["total"] == round(
        sum(n for t, n in status["topics"].items() if t != "hemicycle.deadletter") / 3, 3
    )
    assert fan["total"] <= 6
    assert "events per submitted contribution" in hemicycle(env, "status").stdout
