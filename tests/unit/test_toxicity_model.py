"""ToxicityScorer on a tiny detoxify-format model trained at test time (no weights downloaded).

The model is built once per module (a few seconds): see ``tests/toxicity_model.py``. Held-out
lines use slot fillers the classifier never saw, so the direction checks are honest.
"""

from __future__ import annotations

import os
import random
import statistics
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pipeline.models.toxicity import (
    CATEGORIES,
    MULTILINGUAL_LANGUAGES,
    ToxicityLoadError,
    ToxicityScorer,
)
from tests.toxicity_model import (
    abusive_examples,
    neutral_examples,
)


@pytest.fixture(scope="module")
def tiny_model(tiny_detoxify: tuple[Path, Path]) -> tuple[Path, Path]:
    return tiny_detoxify


@pytest.fixture(scope="module")
def scorer(tiny_model: tuple[Path, Path]) -> ToxicityScorer:
    checkpoint, config_dir = tiny_model
    return ToxicityScorer(checkpoint, config_dir, device="cpu", batch_size=8)


def _texts(examples: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    return [text for text, _ in examples]


def test_loads_offline_and_describes_itself(
    scorer: ToxicityScorer, tiny_model: tuple[Path, Path]
) -> None:
    checkpoint, _ = tiny_model
    assert scorer.model_id == f"detoxify-multilingual:{checkpoint.name}"
    assert scorer.device == "cpu"
    assert scorer.categories == CATEGORIES
    assert scorer.languages == MULTILINGUAL_LANGUAGES
    (result,) = scorer.score(["We should build bike lanes next to the school"])
    assert set(result) == set(CATEGORIES)
    assert all(0.0 <= v <= 1.0 and round(v, 4) == v for v in result.values())


def test_device_defaults_to_available_hardware(tiny_model: tuple[Path, Path]) -> None:
    import torch

    scorer = ToxicityScorer(*tiny_model)
    assert scorer.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_held_out_abusive_scores_above_neutral(scorer: ToxicityScorer) -> None:
    abusive = [ex for group in abusive_examples(1).values() for ex in group]
    neutral = neutral_examples(1)
    tox_abusive = [r["toxicity"] for r in scorer.score(_texts(abusive))]
    tox_neutral = [r["toxicity"] for r in scorer.score(_texts(neutral))]
    assert statistics.mean(tox_abusive) > statistics.mean(tox_neutral) + 0.3
    # Pair each held-out abusive line with a neutral one: abusive wins in most pairs.
    pairs = list(
        zip(tox_abusive, tox_neutral * (len(tox_abusive) // len(tox_neutral) + 1), strict=False)
    )
    wins = sum(a > n for a, n in pairs)
    assert wins > 0.8 * len(pairs)


def test_insult_and_threat_move_in_the_expected_direction(scorer: ToxicityScorer) -> None:
    held_out = abusive_examples(1)
    insults = scorer.score(_texts(held_out["insult"]))
    threats = scorer.score(_texts(held_out["threat"]))
    neutral = scorer.score(_texts(neutral_examples(1)))

    def mean(rows: list[dict[str, float]], category: str) -> float:
        return statistics.mean(r[category] for r in rows)

    assert mean(insults, "insult") > mean(threats, "insult")
    assert mean(insults, "insult") > mean(neutral, "insult")
    assert mean(threats, "threat") > mean(insults, "threat")
    assert mean(threats, "threat") > mean(neutral, "threat")


def test_order_preserved_under_length_sorting(scorer: ToxicityScorer) -> None:
    texts = _texts(neutral_examples(1)) + _texts(abusive_examples(1)["threat"])
    texts += ["Short.", "A much longer contribution about trains and parks. " * 6]
    random.Random(3).shuffle(texts)
    batched = scorer.score(texts)
    singles = [scorer.score([t])[0] for t in texts]
    assert len(batched) == len(texts)
    for got, want in zip(batched, singles, strict=True):
        for category in CATEGORIES:
            assert got[category] == pytest.approx(want[category], abs=1e-4)


def test_mixed_lengths_in_one_batch(scorer: ToxicityScorer) -> None:
    texts = [
        "Idiot",
        "You are a brainless imbecile",
        "I propose more solar panels near the market " * 20,
        "Te voy a aplastar",
        "Propongo más tranvías cerca de la biblioteca. " * 3,
    ]
    results = scorer.score(texts)
    assert [set(r) for r in results] == [set(CATEGORIES)] * len(texts)
    assert results[1]["toxicity"] > results[2]["toxicity"]
    assert results[3]["toxicity"] > results[4]["toxicity"]


def test_a_token_budget_cuts_the_batches_and_changes_no_score(
    scorer: ToxicityScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _texts(neutral_examples(1)) + _texts(abusive_examples(1)["insult"])
    texts += ["I propose more solar panels near the market " * 12, "Idiot"]
    monkeypatch.setattr(scorer, "max_batch_tokens", 0)
    fixed = scorer.score(texts)
    shapes: list[tuple[int, int]] = []
    forward = scorer._forward

    def recording(batch, shape=None):  # type: ignore[no-untyped-def]
        assert shape is None  # float32: batches padded to their longest window
        shapes.append((len(batch), max(len(row) for row in batch)))
        return forward(batch, shape)

    monkeypatch.setattr(scorer, "_forward", recording)
    monkeypatch.setattr(scorer, "max_batch_tokens", 96)
    budgeted = scorer.score(texts)
    assert sum(rows for rows, _ in shapes) == len(texts)
    assert all(rows * width <= 96 or rows == 1 for rows, width in shapes)
    assert max(rows for rows, _ in shapes) > scorer.batch_size  # short texts, many per batch
    for got, want in zip(budgeted, fixed, strict=True):
        for category in CATEGORIES:
            assert got[category] == pytest.approx(want[category], abs=1e-4)


def test_the_token_budget_defaults_by_device(tiny_model: tuple[Path, Path]) -> None:
    checkpoint, config_dir = tiny_model
    assert ToxicityScorer(checkpoint, config_dir, device="cpu").max_batch_tokens == 2048
    assert ToxicityScorer(checkpoint, config_dir, max_batch_tokens=0).max_batch_tokens == 0
    with pytest.raises(ValueError, match="max_batch_tokens"):
        ToxicityScorer(checkpoint, config_dir, device="cpu", max_batch_tokens=-1)


def test_empty_and_whitespace_score_zero(scorer: ToxicityScorer) -> None:
    results = scorer.score(["", "   \n\t ", "You are a brainless imbecile", ""])
    zero = dict.fromkeys(CATEGORIES, 0.0)
    assert results[0] == zero and results[1] == zero and results[3] == zero
    assert results[2]["toxicity"] > 0.5
    assert scorer.score(["  "]) == [zero]
    assert scorer.score([]) == []


def test_very_long_text_is_truncated(scorer: ToxicityScorer) -> None:
    text = ("We should build bike lanes next to the school and plant trees. " * 1000)[:50_000]
    assert len(text) == 50_000
    long_result, short_result = scorer.score([text, "I will crush you"])
    assert set(long_result) == set(CATEGORIES)
    assert long_result["toxicity"] < short_result["toxicity"]
    # Mostly-whitespace long text: the character prefix holds too few tokens, full text is used.
    spaced = " " * 60_000 + "You are a brainless imbecile"
    (spaced_result,) = scorer.score([spaced])
    assert spaced_result == scorer.score(["You are a brainless imbecile"])[0]


def test_missing_checkpoint_names_the_path(tiny_model: tuple[Path, Path], tmp_path: Path) -> None:
    _, config_dir = tiny_model
    missing = tmp_path / "nope.ckpt"
    with pytest.raises(ToxicityLoadError, match=r"nope\.ckpt"):
        ToxicityScorer(missing, config_dir)


def test_missing_config_dir_names_the_path(tiny_model: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, _ = tiny_model
    missing = tmp_path / "no-config"
    with pytest.raises(ToxicityLoadError, match="no-config"):
        ToxicityScorer(checkpoint, missing)
    empty = tmp_path / "empty-config"
    empty.mkdir()
    with pytest.raises(ToxicityLoadError, match="empty-config"):
        ToxicityScorer(checkpoint, empty)


def test_invalid_checkpoint_names_the_path(tiny_model: tuple[Path, Path], tmp_path: Path) -> None:
    _, config_dir = tiny_model
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(ToxicityLoadError, match=r"bogus\.ckpt"):
        ToxicityScorer(bogus, config_dir)
