"""The scorer respects the model's own token limit (issue 12, item 8).

A checkpoint whose positions (``max_position_embeddings``) or tokenizer (``model_max_length``)
allow fewer than the scorer's 256 tokens used to crash on a long text (``index 130 is out of
bounds for dimension 1 with size 130``) and dead-letter it. Untrained tiny models suffice: the
test is about shapes, not scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from transformers import XLMRobertaForSequenceClassification

from pipeline.cli import main
from pipeline.models import toxicity_info
from pipeline.models.toxicity import ToxicityScorer
from pipeline.models.toxicity_backends import native_bf16
from tests.toxicity_model import (
    neutral_examples,
    tiny_config,
    write_detoxify_checkpoint,
    write_tokenizer,
)

LONG_TEXT = " ".join(["We should plant more trees along the river."] * 200)


def tiny_checkpoint(
    out_dir: Path, *, positions: int = 514, model_max_length: int = 512
) -> tuple[Path, Path]:
    config_dir, checkpoint = out_dir / "config", out_dir / "tiny.ckpt"
    lines = [text for text, _ in neutral_examples(0)] + [LONG_TEXT]
    tokenizer = write_tokenizer(lines, config_dir, model_max_length=model_max_length)
    config = tiny_config(len(tokenizer))
    config.max_position_embeddings = positions
    torch.manual_seed(0)
    write_detoxify_checkpoint(XLMRobertaForSequenceClassification(config), config_dir, checkpoint)
    return checkpoint, config_dir


@pytest.mark.parametrize(
    ("positions", "model_max_length", "limit"),
    [(130, 512, 128), (514, 100, 100)],  # XLM-R keeps pad_token_id + 1 = 2 positions back
)
def test_a_long_text_is_scored_within_the_models_limit(
    tmp_path: Path, positions: int, model_max_length: int, limit: int
) -> None:
    checkpoint, config_dir = tiny_checkpoint(
        tmp_path, positions=positions, model_max_length=model_max_length
    )
    scorer = ToxicityScorer(checkpoint, config_dir, device="cpu", max_length=256)
    assert scorer.max_length == limit
    [scores] = scorer.score([LONG_TEXT])
    assert set(scores) and all(0.0 <= value <= 1.0 for value in scores.values())


def test_models_list_states_the_token_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, config_dir = tiny_checkpoint(tmp_path, positions=130)
    for key in [k for k in os.environ if k.startswith("HEMICYCLE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEMICYCLE_TOXICITY_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("HEMICYCLE_TOXICITY_CONFIG_DIR", str(config_dir))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert f"toxicity: {checkpoint}, 128 tokens per window" in out
    assert "on CPU: ct2; on CUDA: torch fp16" in out  # the default
    real = toxicity_info.installed
    monkeypatch.setattr(toxicity_info, "installed", lambda *a: "ctranslate2" not in a and real(*a))
    assert main(["models", "list"]) == 0
    no_ct2 = "on CPU: torch (ct2: the ctranslate2 package is not installed); on CUDA"
    assert no_ct2 in capsys.readouterr().out
    monkeypatch.setattr(toxicity_info, "installed", real)
    monkeypatch.setenv("HEMICYCLE_TOXICITY_BACKEND", "torch")
    assert main(["models", "list"]) == 0
    assert "on CPU: torch; on CUDA: torch fp16" in capsys.readouterr().out
    monkeypatch.setenv("HEMICYCLE_TOXICITY_BACKEND", "auto")
    assert main(["models", "list"]) == 0
    engine = "torch-bf16 (auto: this CPU has native bf16)" if native_bf16() else "torch (auto"
    assert f"on CPU: {engine}" in capsys.readouterr().out
    monkeypatch.setenv("HEMICYCLE_TOXICITY_COMPILE", "true")
    monkeypatch.setenv("HEMICYCLE_TOXICITY_BACKEND", "torch-bf16")
    assert main(["models", "list"]) == 0
    assert "on CPU: torch-bf16, compiled, fixed shapes;" in capsys.readouterr().out
    monkeypatch.setenv("HEMICYCLE_TOXICITY_FIXED_SHAPES", "false")
    assert main(["models", "list"]) == 0
    assert "on CPU: torch-bf16, compiled, dynamic shapes;" in capsys.readouterr().out
    monkeypatch.setenv("HEMICYCLE_TOXICITY_BACKEND", "onnx")  # compiling is for torch only
    assert main(["models", "list"]) == 0
    assert "on CPU: onnx; on CUDA" in capsys.readouterr().out
