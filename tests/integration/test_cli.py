"""The CLI end to end on the embedded default: ingest → run --until-idle → export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import contribution
from tests.integration.conftest import SAMPLE, hemicycle, sample_rows

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages


def test_ingest_run_export_gives_every_valid_contribution_with_its_language(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        json.dumps(
            contribution(1, body="Wir brauchen mehr Nachtzüge zwischen den Hauptstädten Europas.")
        ),
        "this is not json",
        json.dumps(
            contribution(2, body="Potrzebujemy więcej połączeń kolejowych między miastami.")
        ),
        json.dumps(contribution(3, body="   ")),
        "",
        json.dumps(
            contribution(4, body="Il faut protéger les forêts et les rivières de nos régions.")
        ),
        json.dumps(contribution(5, body="x" * 50_001)),
        json.dumps([1, 2, 3]),
        json.dumps(contribution(6, created_at="yesterday")),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    ingest = hemicycle(embedded_env, "ingest", str(source), check=False)
    assert ingest.returncode == 1  # some lines rejected; the valid ones still went in
    assert "accepted 3, rejected 5" in ingest.stdout
    errors = ingest.stderr
    assert f"{source}:2: rejected: not valid JSON" in errors
    assert f"{source}:4: rejected: body: body is empty" in errors
    assert f"{source}:7: rejected: body: body has 50001 characters" in errors
    assert f"{source}:8: rejected: expected a JSON object" in errors
    assert f"{source}:9: rejected: created_at:" in errors

    hemicycle(embedded_env, "run", "--until-idle")
    exported = [json.loads(line) for line in hemicycle(embedded_env, "export").stdout.splitlines()]
    by_id = {row["id"]: row for row in exported}
    assert set(by_id) == {"c-1", "c-2", "c-4"}
    assert {k: by_id[k]["language"] for k in by_id} == {"c-1": "de", "c-2": "pl", "c-4": "fr"}
    for row in exported:
        assert row["state"] == "needs_review"
        assert row["version"] == 1
        assert 0.5 < row["confidence"] <= 1.0
        assert row["reliable"] is True

    status = json.loads(hemicycle(embedded_env, "status", "--json").stdout)
    assert status["topics"]["hemicycle.contributions.submitted"] == 3
    assert status["workers"]["langid"]["lag"] == 0
    assert status["workers"]["triage"]["lag"] == 0
    assert status["queue"] == {"needs_review": 3}
    assert status["dead_letters"]["count"] == 0


def test_the_bundled_sample_flows_through_with_languages(embedded_env: dict[str, str]) -> None:
    hemicycle(embedded_env, "ingest", str(SAMPLE))
    hemicycle(embedded_env, "run", "--until-idle")
    exported = [json.loads(line) for line in hemicycle(embedded_env, "export").stdout.splitlines()]
    latest = {}
    for row in sample_rows():
        latest[row["id"]] = max(latest.get(row["id"], 0), row["version"])
    assert {row["id"]: row["version"] for row in exported} == latest
    languages = {row["language"] for row in exported}
    assert len(languages - {None}) >= 20


def test_detect_prints_one_line_per_input_in_order(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    rows = [
        {"id": "a", "text": "Dobrý den, jak se máte? Doufám, že se vám daří dobře."},
        {
            "id": "b",
            "title": "Mobilità",
            "body": "Servono più treni regionali\ne biglietti più economici.",
        },
        "broken {",
        {"id": "d", "text": "12345 !!! ..."},
    ]
    source = tmp_path / "texts.jsonl"
    source.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    out = hemicycle(embedded_env, "detect", str(source), check=False)
    assert out.returncode == 1
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in results] == ["a", "b", None, "d"]
    assert results[0]["lang"] == "cs"
    assert results[1]["lang"] == "it"
    assert results[2]["error"].startswith("line 3")
    assert results[3]["lang"] is None and results[3]["reliable"] is False
    for result in results:
        assert set(result) >= {"id", "lang", "confidence", "reliable"}


def test_missing_file_is_a_clear_error(embedded_env: dict[str, str], tmp_path: Path) -> None:
    out = hemicycle(embedded_env, "ingest", str(tmp_path / "nope.jsonl"), check=False)
    assert out.returncode == 2
    assert "no such file" in out.stderr


def test_demo_until_idle_explains_what_it_does(embedded_env: dict[str, str]) -> None:
    out = hemicycle(embedded_env, "demo", "--until-idle")
    assert "Ingested 126 contributions" in out.stdout
    assert "Identified 126 contributions. Queue: needs_review" in out.stdout
    again = hemicycle(embedded_env, "demo", "--until-idle")
    assert "Sample already ingested" in again.stdout
