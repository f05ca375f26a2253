"""The toxicity scorer's CPU backends on the tiny trained model (no weights downloaded).

ONNX Runtime and CTranslate2 float32 must score as torch float32 does; bfloat16 weights within a
small drift (bfloat16 runs on every CPU, slowly where the CPU has no native bf16; ``auto`` picks it
only where ``/proc/cpuinfo`` names native bf16 arithmetic); the int8 backends must
keep the model's judgement (abusive above neutral) with a bounded drift; the converted models
are made from the local checkpoint once and reused from the cache folder.
"""

from __future__ import annotations

import logging
import os
import statistics
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pydantic import ValidationError

from pipeline.config import Settings
from pipeline.models import toxicity_backends, toxicity_ct2, toxicity_onnx
from pipeline.models.toxicity import ToxicityLoadError, ToxicityScorer
from pipeline.models.toxicity_backends import native_bf16, resolve_backend
from tests.toxicity_model import abusive_examples, neutral_examples

ABUSIVE = [t for group in abusive_examples(1).values() for t, _ in group]
NEUTRAL = [t for t, _ in neutral_examples(1)]


@pytest.fixture(scope="module")
def tiny_model(tiny_detoxify: tuple[Path, Path]) -> tuple[Path, Path]:
    return tiny_detoxify


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
    assert scorer.model_id == f"detoxify-multilingual:{tiny_model[0].name}"  # torch's figures
    encoder = scorer.model.base_model
    assert {p.device.type for p in encoder.parameters()} == {"meta"}  # its weights freed
    converted = sorted(p.name for p in tmp_path.iterdir())
    assert len(converted) == 1 and converted[0].endswith("-ct2")

    def no_convert(*_: object) -> None:
        raise AssertionError("converted again although the cached model is there")

    monkeypatch.setattr(toxicity_ct2, "_convert", no_convert)
    again = ToxicityScorer(*tiny_model, device="cpu", backend="ct2", cache_dir=tmp_path)
    assert again.score(ABUSIVE[:3]) == scorer.score(ABUSIVE[:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == converted


def test_the_default_engine_falls_back_to_torch_without_ctranslate2(
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def missing(*_: object) -> None:
        raise ModuleNotFoundError("No module named 'ctranslate2'")

    monkeypatch.setattr(toxicity_ct2, "ct2_model_path", missing)
    with caplog.at_level(logging.WARNING):
        scorer = ToxicityScorer(*tiny_model, device="cpu", cache_dir=tmp_path)
    assert scorer.backend == "torch"
    (warned,) = [r for r in caplog.records if "running torch float32" in r.getMessage()]
    assert "ctranslate2" in warned.error  # type: ignore[attr-defined]
    assert scorer.score(ABUSIVE + NEUTRAL) == reference
    with pytest.raises(ToxicityLoadError, match="ct2-int8 failed"):  # chosen, not the default
        ToxicityScorer(*tiny_model, device="cpu", backend="ct2-int8", cache_dir=tmp_path)


def test_a_conversion_finished_first_elsewhere_is_kept(
    tiny_model: tuple[Path, Path], tmp_path: Path
) -> None:
    """Two workers starting together both convert; the one that finishes second keeps the
    first one's model instead of failing to start."""
    ToxicityScorer(*tiny_model, device="cpu", backend="ct2", cache_dir=tmp_path)
    (target,) = tmp_path.iterdir()
    first = (target / "model.bin").stat().st_mtime_ns
    second = ToxicityScorer(*tiny_model, device="cpu", backend="torch")  # its model unconverted
    toxicity_ct2._convert(second.model, second.tokenizer, target, "float32")
    assert (target / "model.bin").stat().st_mtime_ns == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no work folder left


@pytest.mark.parametrize("backend", ["torch-int8", "onnx-int8", "ct2-int8"])
def test_int8_backends_keep_the_judgement(
    backend: str,
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    tmp_path: Path,
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend=backend, cache_dir=tmp_path)
    assert scorer.backend == backend and scorer.model_id.endswith(f"+{backend}")
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
    assert Settings().toxicity_backend == "ct2"
    assert Settings(toxicity_backend="onnx").toxicity_backend == "onnx"
    with pytest.raises(ValidationError):
        Settings(toxicity_backend="tensorrt")


def test_bf16_weights_score_as_float32_within_drift(
    tiny_model: tuple[Path, Path], reference: list[dict[str, float]]
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="torch-bf16")
    assert scorer.backend == "torch-bf16"
    assert scorer.model_id == f"detoxify-multilingual:{tiny_model[0].name}+torch-bf16"
    assert next(scorer.model.parameters()).dtype == torch.bfloat16
    scores = scorer.score(ABUSIVE + NEUTRAL)
    # benchmarks/score.py reports the exact drift on the held-out lines (0.0096 on an AMX Xeon,
    # 0.0141 on an AVX-512-BF16 EPYC): rounding in bf16 depends on the CPU's kernels.
    assert drift(reference, scores) <= 0.02
    toxic = [s["toxicity"] for s in scores]
    assert statistics.mean(toxic[: len(ABUSIVE)]) > statistics.mean(toxic[len(ABUSIVE) :]) + 0.3
    assert all(isinstance(v, float) for s in scores for v in s.values())


@pytest.mark.parametrize(
    ("backend", "cuda", "bf16", "expected"),
    [
        ("auto", False, True, "torch-bf16"),
        ("auto", False, False, "torch"),
        ("auto", True, True, "torch"),
        ("onnx", False, True, "onnx"),
        ("torch-bf16", True, False, "torch"),
        ("ct2", True, False, "torch"),  # the CPU default: CUDA runs torch fp16
        ("ct2", False, True, "ct2"),
        ("torch-bf16", False, False, "torch-bf16"),
    ],
)
def test_resolve_backend(backend: str, cuda: bool, bf16: bool, expected: str) -> None:
    assert resolve_backend(backend, cuda=cuda, bf16=bf16) == expected


def test_resolve_backend_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("tensorrt", cuda=False)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f avx512_vnni", False),
        ("fpu avx2 avx512f avx512_bf16", True),
        ("fpu avx2 amx_bf16 amx_tile", True),
    ],
)
def test_native_bf16_reads_the_cpu_flags(tmp_path: Path, flags: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: x\nflags\t\t: {flags}\n", encoding="ascii")
    assert native_bf16(cpuinfo) is expected
    assert native_bf16(tmp_path / "missing") is False


def test_auto_follows_the_cpu(
    tiny_model: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toxicity_backends, "native_bf16", lambda: False)
    assert ToxicityScorer(*tiny_model, device="cpu", backend="auto").backend == "torch"
    monkeypatch.setattr(toxicity_backends, "native_bf16", lambda: True)
    assert ToxicityScorer(*tiny_model, device="cpu", backend="auto").backend == "torch-bf16"
    assert ToxicityScorer(*tiny_model, device="cpu").backend == "ct2"  # the default


@pytest.mark.parametrize("backend", ["auto", "torch", "torch-bf16", "ct2"])
@pytest.mark.parametrize("options", [{}, {"max_batch_tokens": 300}, {"max_batch_tokens": 0}])
def test_scores_do_not_depend_on_the_batch(
    backend: str, options: dict[str, int], tiny_model: tuple[Path, Path], tmp_path: Path
) -> None:
    """A replayed input is scored to the same figures however the poll cuts its batches, and a
    text alone as within a poll: float32 (torch or CTranslate2) as it is, bfloat16 by its fixed
    batch shapes (with float32's batching, bfloat16 moved a score by 0.0014 between batch
    sizes)."""
    lines = ABUSIVE + NEUTRAL
    scorer = ToxicityScorer(
        *tiny_model,
        device="cpu",
        backend=backend,
        cache_dir=tmp_path,
        **options,  # type: ignore[arg-type]
    )
    assert scorer.fixed_shapes is (scorer.backend == "torch-bf16")
    whole = scorer.score(lines)
    assert scorer.score(lines[::-1]) == whole[::-1]
    assert scorer.score(lines[:5] + NEUTRAL[:1]) == whole[:5] + whole[len(ABUSIVE) :][:1]
    assert [scorer.score([line])[0] for line in lines[::9]] == whole[::9]


def test_fixed_shapes_follow_the_setting(tiny_model: tuple[Path, Path], tmp_path: Path) -> None:
    """HEMICYCLE_TOXICITY_FIXED_SHAPES: on by default, for bfloat16 on CPU only."""
    checkpoint, config_dir = tiny_model
    paths = {"toxicity_checkpoint": checkpoint, "toxicity_config_dir": config_dir}
    settings = Settings(data_dir=tmp_path, toxicity_backend="torch-bf16", **paths)  # type: ignore[arg-type]
    assert settings.toxicity_fixed_shapes is True
    assert ToxicityScorer.from_settings(settings).fixed_shapes is True
    off = settings.model_copy(update={"toxicity_fixed_shapes": False})
    assert ToxicityScorer.from_settings(off).fixed_shapes is False
    float32 = settings.model_copy(update={"toxicity_backend": "torch"})
    assert ToxicityScorer.from_settings(float32).fixed_shapes is False


def test_float32_scores_do_not_depend_on_the_batch_size(tiny_model: tuple[Path, Path]) -> None:
    """float32 gives the same figures for any batching configuration too (bfloat16 only for
    the same configuration: its shapes follow the token budget)."""
    lines = ABUSIVE + NEUTRAL
    runs = [
        ToxicityScorer(*tiny_model, device="cpu", backend="torch", **options).score(lines)  # type: ignore[arg-type]
        for options in (
            {"batch_size": 1, "max_batch_tokens": 0},
            {"batch_size": 7, "max_batch_tokens": 0},
            {"max_batch_tokens": 300},
            {},
        )
    ]
    assert runs[0] == runs[1] == runs[2] == runs[3]


def test_compiled_model_scores_as_the_eager_one(
    tiny_model: tuple[Path, Path], reference: list[dict[str, float]]
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="torch", compile=True)
    scores = scorer.score(ABUSIVE + NEUTRAL)
    assert scorer._eager is not None, "the compiled model fell back to eager"
    assert drift(reference, scores) <= 0.001
    # Another batch shape runs the same compiled graph (dynamic shapes), with the same scores.
    few = ABUSIVE[:3] + NEUTRAL[:2]
    expected = reference[:3] + reference[len(ABUSIVE) : len(ABUSIVE) + 2]
    assert drift(expected, scorer.score(few)) <= 0.001


def test_a_failed_compile_falls_back_to_the_eager_model(
    tiny_model: tuple[Path, Path],
    reference: list[dict[str, float]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(model: torch.nn.Module, **_: object) -> object:
        def call(**__: object) -> object:
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="torch", compile=True)
    with caplog.at_level(logging.WARNING, logger="hemicycle"):
        scores = scorer.score(ABUSIVE + NEUTRAL)
    assert drift(reference, scores) == 0.0
    assert scorer._eager is None
    assert "torch.compile failed" in caplog.text and "no C++ compiler" in caplog.text
