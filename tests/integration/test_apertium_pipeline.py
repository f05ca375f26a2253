"""Real Apertium translations through the whole embedded pipeline, a two-leg route included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apertium_check import require_apertium
from tests.conftest import contribution
from tests.integration.conftest import hemicycle

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages


def test_installed_apertium_pairs_translate_contributions(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    require_apertium()
    env = dict(
        embedded_env,
        HEMICYCLE_TRANSLATION_ENGINES="apertium",
        HEMICYCLE_TARGET_LANGUAGES="en,es,pt,de",
    )
    listed = hemicycle(env, "models", "list").stdout
    assert "apertium:eng-spa" in listed and "apertium " in listed and "en→es" in listed

    rows = [
        contribution(1, body="The city needs more trees.", locale_hint="en"),
        contribution(
            2, body="A cidade precisa de mais árvores e de mais parques.", locale_hint="pt"
        ),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    hemicycle(env, "ingest", str(source))
    hemicycle(env, "run", "--until-idle")
    exported = {r["id"]: r for r in map(json.loads, hemicycle(env, "export").stdout.splitlines())}

    english = {t["target_language"]: t for t in exported["c-1"]["translations"]}
    assert english["es"]["text"] == "La ciudad necesita más árboles."
    assert english["es"]["engine"] == "apertium"
    assert english["es"]["model_id"] == "apertium:eng-spa"
    assert english["es"]["route"] == ["en", "es"]
    assert english["pt"]["route"] == ["en", "es", "pt"]  # two legs through Spanish
    assert english["pt"]["model_id"] == "apertium:eng-spa+apertium:es-pt"
    assert "cidade" in english["pt"]["text"] and "árvores" in english["pt"]["text"]
    unavailable = {u["target_language"] for u in exported["c-1"]["translations_unavailable"]}
    assert unavailable == {"de"}

    portuguese = {t["target_language"]: t for t in exported["c-2"]["translations"]}
    assert portuguese["en"]["route"] == ["pt", "es", "en"]
    assert "city" in portuguese["en"]["text"] and "trees" in portuguese["en"]["text"]
