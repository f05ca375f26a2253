"""Which engine runs the toxicity model on CPU (``HEMICYCLE_TOXICITY_BACKEND``).

Every backend takes the same padded batch (token ids and attention mask) and returns the same
logits, so tokenization, windows, length-sorted batching and rounding do not depend on it:

* ``ct2`` (default): the encoder in CTranslate2 float32, the checkpoint's head in torch
  (:mod:`pipeline.models.toxicity_ct2`); ``torch`` where CTranslate2 is unavailable;
* ``torch``: the checkpoint's model in float32 (fp16 autocast on CUDA);
* ``auto``: ``torch-bf16`` on a CPU with native bfloat16 arithmetic (AMX or AVX-512-BF16,
  :func:`native_bf16`), ``torch`` elsewhere (see :func:`resolve_backend`);
* ``torch-bf16``: the checkpoint's model with its weights and activations in bfloat16, run in
  fixed batch shapes (on a CPU without native bf16 this is several times *slower* than
  float32);
* ``torch-int8``: torch dynamic int8 quantisation of the encoder's linear layers (per-channel
  weights; the classification head stays float32);
* ``onnx``: ONNX Runtime, float32 (:mod:`pipeline.models.toxicity_onnx`);
* ``onnx-int8``: ONNX Runtime with dynamic int8 weights (per channel);
* ``ct2-int8``: the same encoder with int8 weights.

The default is chosen on measured drift, speed and the event contract (``benchmarks/score.py``).
The int8 paths drift 0.02-0.12 on the tiny trained test model (even with per-channel weights or
with only some layers quantised), above the 0.01 we allow. bfloat16 weights drift 0.0096 on the
tiny trained model on an AMX Xeon but 0.0141 on an AVX-512-BF16 EPYC (0.002 on the random-weight
base model); where the CPU has AMX they run several times as fast as float32 (whose batching
gains little over per-text detoxify there: per-text detoxify is already compute-bound), with
AVX-512-BF16 alone about 2x, and where the CPU has no native bf16 several times slower than
float32, hence ``auto``. The default is therefore a float32 engine, and of those CTranslate2
is the fastest: 1.53-1.58x torch float32 in alternating passes on an AMD EPYC (Zen 4), on a par
with it on an AMX Xeon, with the same figures (drift 0.0000 on both models; a text scores the
same in any batch: a test holds it). ONNX Runtime float32 was 1.1-1.2x torch on the EPYC.

Replays: in bfloat16 a text's scores depend on the *shape* of the batch it is scored in (by up
to 0.0014 on the tiny model, 0.002 on XLM-R base: the kernels a shape selects round
differently), but not on the other texts in the batch nor on the text's row (measured on AMX
with the random-weight XLM-R base: at one shape, shuffles scored exactly as each text alone).
So bfloat16 batches run in fixed shapes (:func:`pipeline.models.toxicity.fixed_shape_batches`;
``HEMICYCLE_TOXICITY_FIXED_SHAPES``, on by default): a window's width is its length rounded up
to 32 tokens, a batch's rows follow from the width, and a batch a poll leaves part-filled is
padded with rows of padding. A text then scores the same whichever poll it comes in, and a
replayed input is scored to the same figures, as in float32 (a test holds both). Changing the
batching settings may change bfloat16's figures within the drift (float32's: not at all). The
padding costs: 0.74-0.87x the throughput of batches padded to their longest window (128-256
texts, EPYC with AVX-512-BF16).
On CUDA the model always runs in torch (fp16).
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch

__all__ = [
    "BACKENDS",
    "COMPILABLE",
    "DEFAULT_BACKEND",
    "Forward",
    "compile_model",
    "native_bf16",
    "resolve_backend",
    "torch_int8",
]

BACKENDS: tuple[str, ...] = (
    "auto",
    "torch",
    "torch-bf16",
    "torch-int8",
    "onnx",
    "onnx-int8",
    "ct2",
    "ct2-int8",
)
DEFAULT_BACKEND = "ct2"
# The backends whose model torch.compile can run (HEMICYCLE_TOXICITY_COMPILE).
COMPILABLE: frozenset[str] = frozenset({"torch", "torch-bf16"})
# /proc/cpuinfo flags of native bfloat16 arithmetic (Intel AMX, AVX-512-BF16 on Intel and AMD).
BF16_FLAGS: frozenset[str] = frozenset({"amx_bf16", "avx512_bf16"})

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""Logits (float, on CPU or the model's device) of ``(input_ids, attention_mask)``."""


def torch_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose encoder ``nn.Linear`` layers run in dynamic int8."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not name.startswith("classifier")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in torch 2.x
        return quantize_dynamic(copy.deepcopy(model), spec, dtype=torch.qint8)


@functools.cache
def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has native bfloat16 arithmetic (False where it cannot be read)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return not BF16_FLAGS.isdisjoint(line.partition(":")[2].split())
    return False


def resolve_backend(backend: str, *, cuda: bool, bf16: bool | None = None) -> str:
    """The engine ``backend`` means here: CUDA always runs ``torch`` (fp16); ``auto`` is
    ``torch-bf16`` where ``bf16`` (default: :func:`native_bf16`) and ``torch`` elsewhere."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if cuda:
        return "torch"
    if backend == "auto":
        return "torch-bf16" if (native_bf16() if bf16 is None else bf16) else "torch"
    return backend


def compile_model(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` through ``torch.compile``: inductor, dynamic shapes (one graph for every batch
    shape), frozen weights (constant-folded and prepacked); compiled on its first call."""
    compiled = torch.compile(model, dynamic=True, options={"freezing": True})
    return cast(torch.nn.Module, compiled)
