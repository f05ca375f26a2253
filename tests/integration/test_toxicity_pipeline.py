"""The whole pipeline with a real (tiny, trained at test time) detoxify model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from pipeline.models.toxicity import ToxicityScorer
from tests.conftest import contribution
from tests.integration.conftest import hemicycle
from tests.toxicity_model import abusive_examples, neutral_examples

# These tests check languages: lingua's second opinion on, as the product ships.
pytestmark = pytest.mark.languages

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_model(tiny_detoxify: tuple[Path, Path]) -> tuple[Path, Path]:
    return tiny_detoxify


def test_a_published_style_checkpoint_naming_a_hub_model_loads_offline(
    tiny_model: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, config_dir = tiny_model
    loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    loaded["config"]["arch"]["args"]["model_type"] = "xlm-roberta-base"  # as published
    published = tmp_path / "multilingual_debiased-0b549669.ckpt"
    torch.save(loaded, published)
    scorer = ToxicityScorer(published, config_dir)
    direct = ToxicityScorer(checkpoint, config_dir)
    text = ["You are a pathetic idiot"]
    assert scorer.score(text) == direct.score(text)


def test_export_shows_scores_signals_clusters_states_and_reasons(
    tiny_model: tuple[Path, Path], embedded_env: dict[str, str], tmp_path: Path
) -> None:
    checkpoint, config_dir = tiny_model
    env = dict(
        embedded_env,
        HEMICYCLE_TOXICITY_CHECKPOINT=str(checkpoint),
        HEMICYCLE_TOXICITY_CONFIG_DIR=str(config_dir),
    )
    abusive = [text for text, _ in abusive_examples(1)["insult"][:6]]
    neutral = [text for text, _ in neutral_examples(1)[:6]]
    rows = [contribution(n, body=text) for n, text in enumerate(abusive + neutral)]
    rows.append(contribution(50, body="Potrzebujemy więcej pociągów nocnych między stolicami."))
    rows.append(contribution(51, body="Free bitcoin for all at https://bit.ly/free-coins today"))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    hemicycle(env, "ingest", str(source))
    hemicycle(env, "run", "--until-idle")
    exported = {r["id"]: r for r in map(json.loads, hemicycle(env, "export").stdout.splitlines())}
    assert len(exported) == len(rows)

    def toxicity(row: dict) -> float:
        return next(s["value"] for s in row["scores"] if s["category"] == "toxicity")

    bad = [toxicity(exported[f"c-{n}"]) for n in range(len(abusive))]
    good = [toxicity(exported[f"c-{n}"]) for n in range(len(abusive), len(abusive) + len(neutral))]
    assert sum(bad) / len(bad) > sum(good) / len(good) + 0.3
    for row in exported.values():
        assert row["state"] in {"auto_approved", "needs_review", "auto_hidden"}
        assert row["reasons"], row
        assert any(s["category"] == "spam" for s in row["scores"])
    scored = exported["c-0"]["scores"][0]
    assert scored["model"].startswith("detoxify-multilingual:")
    assert (scored["text_source"], scored["text_language"]) == ("original", "en")
    polish = exported["c-50"]
    assert polish["language"] == "pl" and polish["state"] == "needs_review"
    assert polish["reasons"][0].startswith("toxicity not scored: language pl not covered")
    spam = exported["c-51"]
    assert spam["state"] == "auto_hidden"
    assert any(s["name"] == "blocked_domain" for s in spam["spam_signals"])
    assert any(row["state"] == "auto_approved" for row in exported.values())
    assert any(toxicity(row) > 0.5 and row["state"] != "auto_approved" for row in exported.values())
