"""What ``hemicycle models list`` says about the toxicity model, without loading its weights.

The token limit is the scorer's own window size (256) capped by the model: the tokenizer's
``model_max_length`` and the model's ``max_position_embeddings`` less the positions it keeps
back (see :func:`pipeline.models.toxicity_windows.model_token_limit`).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Settings
from pipeline.extras import install_hint, installed

# The scorer's default window (ToxicityScorer's max_length), before the model's own limit.
SCORER_WINDOW_TOKENS = 256


def toxicity_token_limit(config_dir: Path, requested: int = SCORER_WINDOW_TOKENS) -> int:
    """Tokens per window the scorer uses with the model configured in ``config_dir``."""
    from transformers import AutoConfig, AutoTokenizer

    from pipeline.models.toxicity_windows import model_token_limit

    config = AutoConfig.from_pretrained(config_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(config_dir, local_files_only=True)
    return model_token_limit(tokenizer, config, requested)


def describe_toxicity(settings: Settings) -> str:
    """One line: the configured toxicity checkpoint and its token limit, or why there is none."""
    if settings.toxicity_checkpoint is None or settings.toxicity_config_dir is None:
        return "toxicity: none configured (HEMICYCLE_TOXICITY_CHECKPOINT, _CONFIG_DIR)"
    if not installed("score"):
        return (
            f'toxicity: {settings.toxicity_checkpoint} cannot be used: the "score" extra is not '
            f"installed ({install_hint('score')})"
        )
    try:
        limit = toxicity_token_limit(settings.toxicity_config_dir)
    except Exception as exc:  # a listing reports a broken model, it does not crash on it
        return f"toxicity: {settings.toxicity_checkpoint} (unreadable: {type(exc).__name__}: {exc})"
    return (
        f"toxicity: {settings.toxicity_checkpoint}, {limit} tokens per window "
        f"(the model's own limit caps the scorer's 256); {cpu_engine(settings)}"
    )


def cpu_engine(settings: Settings) -> str:
    """Which engine runs the model on this machine's CPU (``auto`` resolved, and why)."""
    from pipeline.models.toxicity_backends import COMPILABLE, native_bf16, resolve_backend

    engine = resolve_backend(settings.toxicity_backend, cuda=False)
    why = ""
    if engine == "ct2" and not installed("score", "ctranslate2"):  # what the scorer falls to
        engine, why = "torch", " (ct2: the ctranslate2 package is not installed)"
    if settings.toxicity_backend == "auto":
        why = " (auto: this CPU has native bf16)" if native_bf16() else " (auto: no native bf16)"
    compiled = ", compiled" if settings.toxicity_compile and engine in COMPILABLE else ""
    if engine == "torch-bf16":
        compiled += ", fixed shapes" if settings.toxicity_fixed_shapes else ", dynamic shapes"
    return f"on CPU: {engine}{why}{compiled}; on CUDA: torch fp16"
