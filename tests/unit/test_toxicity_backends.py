"""The toxicity scorer's CPU backends on the tiny trained model (no weights downloaded).

ONNX Runtime and CTranslate2 float32 must score as torch float32 does; the int8 backends must
keep the model's judgement (abusive above neutral) with a bounded drift; the converted models
are made from the local checkpoint once and reused from the cache folder.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pydantic import ValidationError

from pipeline.config import Settings
from pipeline.models import toxicity_ct2, toxicity_onnx
from pipeline.models.toxicity import ToxicityScorer
from tests.toxicity_model import abusive_examples, build_tiny_detoxify, neutral_examples

ABUSIVE = [t for group in abusive_examples(1).values() for t, _ in group]
NEUTRAL = [t for t, _ in neutral_examples(1)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_tiny_detoxify(tmp_path_factory.mktemp("toxicity"))


@pytest.fixture(scope="module")
def reference(tiny_model: tuple[Path, Path]) -> list[dict[str, float]]:
    return ToxicityScorer(*tiny_model, device="cpu", backend="torch").score(ABUSIVE + NEUTRAL)


def drift(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return max(abs(x[c] - y[c]) for x, y in zip(a, b, strict=True) for c in x)


def test_onnx_float32_scores_as_torch_and_is_exported_once(
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="onnx", cache_dir=tmp_path)
    assert drift(reference, scorer.score(ABUSIVE + NEUTRAL)) <= 0.0001
    exported = sorted(p.name for p in tmp_path.iterdir())
    assert len(exported) == 1 and exported[0].endswith("-onnx.onnx")

    def no_export(*_: object) -> None:
        raise AssertionError("exported again although the cached model is there")

    monkeypatch.setattr(toxicity_onnx, "_export", no_export)
    again = ToxicityScorer(*tiny_model, device="cpu", backend="onnx", cache_dir=tmp_path)
    assert again.score(ABUSIVE[:3]) == scorer.score(ABUSIVE[:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == exported


def test_changed_checkpoint_is_exported_anew(tiny_model: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, config_dir = tiny_model
    copy = tmp_path / "model" / checkpoint.name
    copy.parent.mkdir()
    copy.write_bytes(checkpoint.read_bytes())
    cache = tmp_path / "cache"
    ToxicityScorer(copy, config_dir, device="cpu", backend="onnx", cache_dir=cache)
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    ToxicityScorer(copy, config_dir, device="cpu", backend="onnx", cache_dir=cache)
    assert len(list(cache.iterdir())) == 2


def test_ct2_float32_scores_as_torch_and_is_converted_once(
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="ct2", cache_dir=tmp_path)
    assert drift(reference, scorer.score(ABUSIVE + NEUTRAL)) <= 0.0005
    converted = sorted(p.name for p in tmp_path.iterdir())
    assert len(converted) == 1 and converted[0].endswith("-ct2")

    def no_convert(*_: object) -> None:
        raise AssertionError("converted again although the cached model is there")

    monkeypatch.setattr(toxicity_ct2, "_convert", no_convert)
    again = ToxicityScorer(*tiny_model, device="cpu", backend="ct2", cache_dir=tmp_path)
    assert again.score(ABUSIVE[:3]) == scorer.score(ABUSIVE[:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == converted


@pytest.mark.parametrize("backend", ["torch-int8", "onnx-int8", "ct2-int8"])
def test_int8_backends_keep_the_judgement(
    backend: str,
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    tmp_path: Path,
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend=backend, cache_dir=tmp_path)
    assert scorer.backend == backend
    scores = scorer.score(ABUSIVE + NEUTRAL)
    # int8 rounding depends on the CPU's kernels: 0.03-0.07 on AMD EPYC (AVX2), 0.11-0.12 with
    # AVX-512-VNNI; the judgement below is what must hold.
    assert drift(reference, scores) < 0.2
    toxic = [s["toxicity"] for s in scores]
    assert statistics.mean(toxic[: len(ABUSIVE)]) > statistics.mean(toxic[len(ABUSIVE) :]) + 0.3
    assert set(scores[0]) == set(reference[0])


def test_unknown_backend_is_refused(tiny_model: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        ToxicityScorer(*tiny_model, device="cpu", backend="tensorrt")


def test_backend_setting() -> None:
    assert Settings().toxicity_backend == "auto"
    assert Settings(toxicity_backend="onnx").toxicity_backend == "onnx"
    with pytest.raises(ValidationError):
        Settings(toxicity_backend="tensorrt")
