"""The toxicity scorer's bfloat16 path, how ``auto`` picks it, and the compiled model.

bfloat16 runs on every CPU (slowly where the CPU has no native bf16), so its drift against
float32 is checked here on any machine; ``auto`` chooses it only where ``/proc/cpuinfo`` names
native bf16 arithmetic.
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

from pipeline.models import toxicity_backends
from pipeline.models.toxicity import ToxicityScorer
from pipeline.models.toxicity_backends import native_bf16, resolve_backend
from tests.toxicity_model import abusive_examples, build_tiny_detoxify, neutral_examples

ABUSIVE = [t for group in abusive_examples(1).values() for t, _ in group]
NEUTRAL = [t for t, _ in neutral_examples(1)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_tiny_detoxify(tmp_path_factory.mktemp("toxicity-bf16"))


@pytest.fixture(scope="module")
def reference(tiny_model: tuple[Path, Path]) -> list[dict[str, float]]:
    return ToxicityScorer(*tiny_model, device="cpu", backend="torch").score(ABUSIVE + NEUTRAL)


def drift(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return max(abs(x[c] - y[c]) for x, y in zip(a, b, strict=True) for c in x)


def test_bf16_weights_score_as_float32_within_drift(
    tiny_model: tuple[Path, Path], reference: list[dict[str, float]]
) -> None:
    scorer = ToxicityScorer(*tiny_model, device="cpu", backend="torch-bf16")
    assert scorer.backend == "torch-bf16"
    assert next(scorer.model.parameters()).dtype == torch.bfloat16
    scores = scorer.score(ABUSIVE + NEUTRAL)
    # benchmarks/score.py reports the exact drift (<= 0.01 on the held-out lines); rounding in
    # bf16 depends on the CPU's kernels, so the bound here leaves room for other machines.
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
    assert ToxicityScorer(*tiny_model, device="cpu").backend == "torch"
    monkeypatch.setattr(toxicity_backends, "native_bf16", lambda: True)
    assert ToxicityScorer(*tiny_model, device="cpu").backend == "torch-bf16"


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
