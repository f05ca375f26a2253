"""Which engine runs the toxicity model on CPU (``HEMICYCLE_TOXICITY_BACKEND``).

Every backend takes the same padded batch (token ids and attention mask) and returns the same
logits, so tokenization, windows, length-sorted batching and rounding do not depend on it:

* ``torch`` (default): the checkpoint's model in float32 (fp16 autocast on CUDA);
* ``torch-int8``: torch dynamic int8 quantisation of the encoder's linear layers (per-channel
  weights; the classification head stays float32);
* ``onnx``: ONNX Runtime, float32 (:mod:`pipeline.models.toxicity_onnx`);
* ``onnx-int8``: ONNX Runtime with dynamic int8 weights (per channel);
* ``ct2`` / ``ct2-int8``: the encoder in CTranslate2 float32 / int8, the checkpoint's head in
  torch (:mod:`pipeline.models.toxicity_ct2`).

The default is chosen on measured drift and speed (``benchmarks/score.py``): only float32
keeps the largest score drift against the checkpoint ≤ 0.01 on every model we measured (int8
drifts 0.03-0.07 on the tiny trained test model, even with per-channel weights or with only
some layers quantised), and neither ONNX Runtime nor CTranslate2 float32 was consistently
faster than torch float32 in interleaved rounds on the CPU measured, so torch float32, which
needs no conversion and no extra package, stays the default. On CUDA the model always runs in
torch (fp16).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Forward", "torch_int8"]

BACKENDS: tuple[str, ...] = ("torch", "torch-int8", "onnx", "onnx-int8", "ct2", "ct2-int8")
DEFAULT_BACKEND = "torch"

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
