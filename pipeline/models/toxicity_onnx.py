"""ONNX Runtime backends of the toxicity scorer: the loaded model exported once, then cached.

``onnx`` runs the model in float32 through ONNX Runtime (scores as torch fp32, drift 0);
``onnx-int8`` runs it with dynamic int8 quantisation of the weights (per channel, reduced
range: the variant that drifts least on the models we measured, still ~0.03 on the tiny
trained test model, so it is never the default).

The model is exported from the checkpoint already loaded by detoxify (``torch.onnx.export``,
the TorchScript exporter: no download, no hub), to a file in ``cache_dir`` named after the
checkpoint's path, size and modification time, so a changed checkpoint is exported anew and an
unchanged one is reused by every later start. Files are written under a temporary name and
renamed into place, so a reader never sees half a file.

``onnx`` (the exporter's and quantiser's format library) and ``onnxruntime`` are imported only
when one of these backends is chosen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from pipeline.errors import PermanentError

__all__ = ["ONNX_BACKENDS", "OnnxForward", "cache_name", "onnx_model_path"]

ONNX_BACKENDS: tuple[str, ...] = ("onnx", "onnx-int8")
_OPSET = 17
_INPUTS = ("input_ids", "attention_mask")


class OnnxBackendError(PermanentError):
    """The ONNX packages are missing or the model could not be exported or loaded."""


def cache_name(checkpoint: Path, backend: str) -> str:
    """A name (no suffix) for ``backend``'s conversion of ``checkpoint``; a changed file gets
    a new one."""
    stat = checkpoint.stat()
    key = f"{checkpoint.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{torch.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{checkpoint.stem}-{digest}-{backend}"


def _partial(target: Path) -> Path:
    return target.with_name(f"{target.name}.{os.getpid()}.partial")


def _export(model: torch.nn.Module, target: Path) -> None:
    """``model`` (an HF sequence classifier) as ONNX at ``target``: batch and length dynamic."""
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 6, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    partial = _partial(target)
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for any shape
        torch.onnx.export(
            model,
            (ids, mask),
            str(partial),
            input_names=list(_INPUTS),
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=_OPSET,
            dynamo=False,
        )
    os.replace(partial, target)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = _partial(target)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint on every call
    try:
        quantize_dynamic(
            source, partial, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
        )
    finally:
        root.setLevel(level)
    os.replace(partial, target)


def onnx_model_path(
    model: torch.nn.Module, checkpoint: Path, backend: str, cache_dir: Path
) -> Path:
    """The cached ONNX file of ``model`` for ``backend``, exported (and quantised) if missing."""
    if backend not in ONNX_BACKENDS:
        raise ValueError(f"not an ONNX backend: {backend!r} (one of {', '.join(ONNX_BACKENDS)})")
    try:
        import onnx  # noqa: F401  (the exporter needs it; fail here with a clear message)
    except ImportError as exc:
        raise OnnxBackendError(
            f"toxicity backend {backend!r} needs the onnx and onnxruntime packages"
        ) from exc
    cache_dir.mkdir(parents=True, exist_ok=True)
    fp32 = cache_dir / f"{cache_name(checkpoint, 'onnx')}.onnx"
    if not fp32.is_file():
        _export(model, fp32)
    if backend == "onnx":
        return fp32
    int8 = cache_dir / f"{cache_name(checkpoint, backend)}.onnx"
    if not int8.is_file():
        _quantize(fp32, int8)
    return int8


class OnnxForward:
    """Logits of a padded batch through an ONNX Runtime CPU session of the exported model."""

    def __init__(self, path: Path, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise OnnxBackendError("the ONNX toxicity backends need onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session: Any = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return torch.from_numpy(self.session.run(["logits"], feed)[0])
