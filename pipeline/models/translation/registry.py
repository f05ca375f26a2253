"""The engine registry: which packages each engine needs, and loading a model's backend."""

from __future__ import annotations

from pipeline.extras import require
from pipeline.models.apertium import ApertiumBackend
from pipeline.models.translation.argos import ArgosBackend
from pipeline.models.translation.base import (
    BackendOptions,
    Engine,
    ModelInfo,
    TranslationBackend,
    TranslationModelError,
)
from pipeline.models.translation.hf import TransformersBackend

# The Python packages of each engine, all in the "translate" extra (Apertium is a system tool).
ENGINE_MODULES: dict[str, tuple[str, ...]] = {
    "argos": ("ctranslate2", "sentencepiece"),
    "transformers": ("torch", "transformers", "sentencepiece"),
}


def require_engine(engine: str) -> None:
    """Raise :class:`~pipeline.extras.MissingExtra` when ``engine``'s packages are missing."""
    if engine in ENGINE_MODULES:
        require("translate", f"the {engine} translation engine", *ENGINE_MODULES[engine])


def _pick_device(engine: Engine, device: str | None) -> str:
    if engine == "apertium":
        return "cpu"
    if device is not None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', not {device!r}")
        return device
    if engine == "argos":
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_backend(
    info: ModelInfo,
    *,
    device: str | None = None,
    beam_size: int = 2,
    max_batch_size: int = 32,
    threads: int | None = None,
    max_input_tokens: int = 256,
) -> TranslationBackend:
    """Load ``info``'s model. ``device`` None picks CUDA when available, else CPU.

    ``threads`` (CPU only): argos runs that many CTranslate2 workers (``inter_threads``, one
    intra thread each; default ``min(2, cpus)``); transformers sets ``torch.set_num_threads``
    (process-wide; default left as is). Inputs longer than ``max_input_tokens`` are truncated.
    """
    require_engine(info.engine)
    chosen = _pick_device(info.engine, device)
    options = BackendOptions(
        device=chosen,
        beam_size=max(1, beam_size),
        max_batch_size=max(1, max_batch_size),
        threads=threads,
        max_input_tokens=max_input_tokens,
    )
    if info.engine == "argos":
        return ArgosBackend(info, options)
    if info.engine == "transformers":
        return TransformersBackend(info, options)
    if info.engine == "apertium":
        return ApertiumBackend(info)
    raise TranslationModelError(f"unknown engine {info.engine!r} for {info.path}")
