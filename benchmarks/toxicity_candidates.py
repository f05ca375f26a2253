"""Faster CPU paths for the toxicity model, measured by ``benchmarks/score.py``.

Each candidate replaces only the model call of a loaded :class:`ToxicityScorer` (its
``_forward``), so tokenization, windows, length-sorted batching and rounding stay the same and
the scores compare one to one with the fp32 path:

* the scorer's own CPU backends (:mod:`pipeline.models.toxicity_backends`): ``torch-bf16``
  (bfloat16 weights), ``torch-int8`` (dynamic int8, per-channel weights, head in float32),
  ``onnx`` (ONNX Runtime float32) and ``onnx-int8`` (ONNX Runtime dynamic int8, per-channel
  weights), loaded as the scorer loads them (:func:`backend`), and any of them compiled
  (``HEMICYCLE_TOXICITY_COMPILE``, :func:`compiled`);
* ``ct2-<compute type>``: the encoder converted to CTranslate2 (``Encoder.forward_batch`` on
  token ids), the checkpoint's own classification head applied in torch on its output.

CTranslate2 4.8's converter predates transformers 5 (``position_embedding_type`` is gone from
the config) and checks the vocabulary against the embedding rows (the benchmark's base model
pads its embedding to XLM-R's 250,002 rows): both are bridged here, for measuring only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.models.toxicity import ToxicityScorer, runs_in_bf16
from pipeline.models.toxicity_backends import compile_model

Forward = Callable[[Sequence[list[int]], tuple[int, int] | None], torch.Tensor]
Forward2 = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def variant(scorer: ToxicityScorer, forward: Forward | None = None, model: Any = None) -> Any:
    """A shallow copy of ``scorer`` with another model or forward function."""
    other = copy.copy(scorer)
    if model is not None:
        other.model = model
    if forward is not None:
        other._forward = forward  # type: ignore[method-assign]
    return other


def backend(scorer: ToxicityScorer, checkpoint: Path, name: str, cache_dir: Path) -> Any:
    """``scorer`` on another of its backends (the ONNX ones exported into ``cache_dir``)."""
    other = variant(scorer, model=copy.deepcopy(scorer.model))  # torch-bf16 converts in place
    other.backend = name
    other._logits = other._load_backend(checkpoint, cache_dir)
    other.fixed_shapes = runs_in_bf16(name, other.device)  # as the scorer sets it
    return other


def dynamic_shapes(scorer: ToxicityScorer) -> Any:
    """``scorer`` batching as float32 does (``fixed_shapes`` off): what fixed shapes cost."""
    other = variant(scorer)
    other.fixed_shapes = False
    return other


def compiled(scorer: ToxicityScorer) -> Any:
    """``scorer`` with its torch model compiled as ``compile=True`` compiles it."""
    other = variant(scorer)
    other._eager = scorer.model
    other.model = compile_model(scorer.model)
    return other


def logits_of(scorer: ToxicityScorer) -> Forward2:
    """The scorer's model call on a padded batch, whichever backend runs it."""
    if scorer._logits is not None:
        return scorer._logits
    return lambda ids, mask: scorer.model(input_ids=ids, attention_mask=mask).logits


def convert_ct2(scorer: ToxicityScorer, out_dir: Path, quantization: str) -> Path:
    """The scorer's encoder as a CTranslate2 model in ``out_dir`` (weights ``quantization``)."""
    import ctranslate2
    from ctranslate2.converters import transformers as ct2_transformers

    hf_dir = out_dir / "hf"
    if not hf_dir.exists():
        model = copy.deepcopy(scorer.model)
        model.config.position_embedding_type = "absolute"
        model.save_pretrained(hf_dir)
        scorer.tokenizer.save_pretrained(hf_dir)
    loader = ct2_transformers.XLMRobertaLoader
    base_vocabulary = ct2_transformers.ModelLoader.get_vocabulary

    def padded_vocabulary(self: Any, model: Any, tokenizer: Any) -> list[str]:
        tokens = list(base_vocabulary(self, model, tokenizer))
        missing = model.config.vocab_size - len(tokens)
        return tokens + [f"<unused_{i}>" for i in range(missing)]

    target = out_dir / f"ct2-{quantization}"
    if not target.exists():
        loader.get_vocabulary = padded_vocabulary  # type: ignore[method-assign]
        try:
            converter = ctranslate2.converters.TransformersConverter(str(hf_dir))
            converter.convert(str(target), quantization=quantization, force=True)
        finally:
            del loader.get_vocabulary
    return target


def ct2_encoder(
    scorer: ToxicityScorer, model_dir: Path, compute_type: str, threads: int
) -> ToxicityScorer:
    import ctranslate2

    encoder = ctranslate2.Encoder(
        str(model_dir), device="cpu", compute_type=compute_type, intra_threads=threads
    )
    head = scorer.model.classifier
    columns = scorer._columns

    def forward(batch: Sequence[list[int]], shape: tuple[int, int] | None = None) -> torch.Tensor:
        hidden = encoder.forward_batch([list(row) for row in batch]).last_hidden_state
        states = torch.from_numpy(np.array(hidden)).float()
        return torch.sigmoid(head(states).float())[:, columns]

    return variant(scorer, forward=forward)
