"""CTranslate2 backends of the toxicity scorer: the encoder converted once, the head in torch.

``ct2`` runs the checkpoint's encoder in CTranslate2 float32 (scores as torch float32: drift
0.0000 on the models measured); ``ct2-int8`` with int8 weights (drift up to 0.07 on the tiny
trained test model, so never the default). The checkpoint's own classification head is applied
in torch on the encoder's output, so the categories and columns are the checkpoint's.

The encoder is converted from the model already loaded by detoxify (saved as a Hugging Face
folder in a temporary directory, then ``TransformersConverter``: no download, no hub) into
``cache_dir``, named after the checkpoint's path, size and modification time, and renamed into
place when complete. Two bridges for the converter of CTranslate2 4.x: transformers 5 no longer
sets ``position_embedding_type`` (XLM-R's is absolute), and a model whose embedding has more
rows than its tokenizer has pieces gets names for the unused rows.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.models.toxicity_onnx import cache_name

__all__ = ["CT2_BACKENDS", "Ct2Forward", "ct2_model_path"]

CT2_BACKENDS: dict[str, str] = {"ct2": "float32", "ct2-int8": "int8"}


def _convert(model: torch.nn.Module, tokenizer: Any, target: Path, quantization: str) -> None:
    import ctranslate2
    from ctranslate2.converters import transformers as ct2_transformers

    loader = ct2_transformers.ModelLoader
    base_vocabulary = loader.get_vocabulary

    def padded_vocabulary(self: Any, model: Any, tokenizer: Any) -> list[str]:
        tokens = list(base_vocabulary(self, model, tokenizer))
        missing = model.config.vocab_size - len(tokens)
        return tokens + [f"<unused_{i}>" for i in range(missing)]

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".ct2-") as work:
        hf_dir = Path(work) / "hf"
        saved = copy.deepcopy(model)
        saved.config.position_embedding_type = "absolute"
        saved.save_pretrained(hf_dir)
        tokenizer.save_pretrained(hf_dir)
        del saved
        partial = Path(work) / "ct2"
        loader.get_vocabulary = padded_vocabulary  # type: ignore[method-assign]
        try:
            converter = ctranslate2.converters.TransformersConverter(str(hf_dir))
            converter.convert(str(partial), quantization=quantization, force=True)
        finally:
            loader.get_vocabulary = base_vocabulary  # type: ignore[method-assign]
        shutil.rmtree(hf_dir)
        try:
            os.replace(partial, target)
        except OSError:  # a folder cannot replace a full one: another worker converted it first
            if not (target / "model.bin").is_file():
                raise


def ct2_model_path(
    model: torch.nn.Module, tokenizer: Any, checkpoint: Path, backend: str, cache_dir: Path
) -> Path:
    """The cached CTranslate2 encoder of ``model`` for ``backend``, converted if missing."""
    if backend not in CT2_BACKENDS:
        raise ValueError(f"not a CTranslate2 backend: {backend!r}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / cache_name(checkpoint, backend)
    if not (target / "model.bin").is_file():
        _convert(model, tokenizer, target, CT2_BACKENDS[backend])
    return target


class Ct2Forward:
    """Logits of a padded batch: CTranslate2 encoder (padding stripped), checkpoint head."""

    def __init__(self, path: Path, backend: str, head: torch.nn.Module, threads: int) -> None:
        import ctranslate2

        self.encoder = ctranslate2.Encoder(
            str(path),
            device="cpu",
            compute_type=CT2_BACKENDS[backend],
            intra_threads=max(1, threads),
        )
        self.head = head

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = attention_mask.sum(dim=1).tolist()
        rows = [ids[:n].tolist() for ids, n in zip(input_ids, lengths, strict=True)]
        hidden = self.encoder.forward_batch(rows).last_hidden_state
        return self.head(torch.from_numpy(np.array(hidden)).float())
