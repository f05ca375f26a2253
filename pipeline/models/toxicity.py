"""Toxicity scoring with a detoxify checkpoint, loaded offline, scored in length-sorted batches.

The model is loaded through detoxify itself (``Detoxify(model_type, checkpoint=...,
huggingface_config_path=...)``: no hub access when both paths are local), then its ``.model``,
``.tokenizer`` and ``.class_names`` are driven by our own batched loop:

1. empty / whitespace-only texts get all-zero scores without touching the model;
2. the other texts are tokenized once and cut into windows of at most ``max_length`` tokens
   (capped by the model's own limit, see :func:`model_token_limit`): one window for a text that
   fits, overlapping sentence-aligned windows for a longer one, at most ``max_windows``
   (:mod:`pipeline.models.toxicity_windows`);
3. the windows of every text are sorted by token length together, cut into batches padded to
   the batch's longest window (``batch_size`` windows, or with a token budget as many as fit
   in ``max_batch_tokens`` padded tokens: the :class:`~pipeline.batching.DynamicBatcher`
   rule, so short texts go many to a batch and long ones few; the default), and run under
   ``torch.inference_mode()`` (fp16 autocast on CUDA; bf16 autocast on CPU only with
   ``cpu_bf16=True``), on the CPU engine ``backend`` names
   (:mod:`pipeline.models.toxicity_backends`: CTranslate2 float32 by default, torch float32,
   torch bfloat16 (on a CPU with native bf16 by ``auto``), torch int8, ONNX Runtime float32 or
   int8, CTranslate2 int8).
   In bfloat16 on CPU the batches have fixed shapes instead (:func:`fixed_shape_batches`), so
   that a text scores the same whatever else its poll held;
4. each category takes its maximum over a text's windows (:meth:`ToxicityScorer.score_windows`
   also says which window gave it and whether the cap cut the text); sigmoid outputs are
   rounded to 4 decimals and returned in input order.

Unsorted batching gains nothing over one text at a time on CPU (padding); sorting is what makes
batches pay. ``score`` is thread-compatible for one caller at a time (torch modules are not
re-entrant across threads with autocast state); use one scorer per worker thread.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch

from pipeline.batching import BatchBudget, BatchRequest, DynamicBatcher
from pipeline.errors import PermanentError
from pipeline.logs import get_logger
from pipeline.models.toxicity_backends import (
    COMPILABLE,
    DEFAULT_BACKEND,
    Forward,
    compile_model,
    resolve_backend,
    torch_int8,
)
from pipeline.models.toxicity_windows import (
    Window,
    WindowedScores,
    model_token_limit,
    split_windows,
)
from pipeline.schemas.events import TOXICITY_CATEGORIES

__all__ = [
    "CATEGORIES",
    "MULTILINGUAL_LANGUAGES",
    "ToxicityLoadError",
    "ToxicityScorer",
    "WindowedScores",
    "fixed_shape_batches",
    "runs_in_bf16",
    "window_batches",
]

log = get_logger("toxicity")

CATEGORIES: tuple[str, ...] = TOXICITY_CATEGORIES
# detoxify's multilingual model covers only these languages.
MULTILINGUAL_LANGUAGES: frozenset[str] = frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})

# Class names used by the various detoxify checkpoints -> our category names. detoxify already
# renames toxic/severe_toxic/identity_hate; repeat it here so raw names map too. Classes outside
# CATEGORIES (the unbiased model's identity columns: male, female, ...) are dropped.
_ALIASES: dict[str, str] = {
    "toxic": "toxicity",
    "severe_toxic": "severe_toxicity",
    "identity_hate": "identity_attack",
    "sexually_explicit": "sexual_explicit",
    **{c: c for c in CATEGORIES},
}
# A token covers at least one character, so a prefix this many characters per wanted token long
# is always enough unless the text is mostly whitespace (checked, then the whole text is used).
_CHARS_PER_TOKEN_CAP = 8
_TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "tokenizer_config.json")
# Token budget per batch when none is configured (on CPU, 2048 scored 1.18x batches of 32 windows
# on XLM-R base, benchmarks/score.py (f)); rows per batch under any budget.
CUDA_BATCH_TOKENS = 16_384
CPU_BATCH_TOKENS = 2_048
MAX_BATCH_ROWS = 1024
# bfloat16 batches on CPU (see fixed_shape_batches): widths in steps of this many tokens, and
# at most this many padded tokens a batch, so that a poll's part-filled batches cost little.
FIXED_WIDTH_STEP = 32
FIXED_SHAPE_TOKENS = 512

if TYPE_CHECKING:
    from pipeline.config import Settings


def window_batches(
    lengths: Sequence[int], *, batch_size: int, max_batch_tokens: int = 0
) -> list[list[int]]:
    """Indices of ``lengths`` (windows' token counts) cut into model batches.

    Each batch is sorted by length and every index is in exactly one. Without a token budget a
    batch holds ``batch_size`` windows; with one, as many as keep ``rows x longest`` within
    ``max_batch_tokens`` (at most :data:`MAX_BATCH_ROWS`; a longer window runs alone).
    """
    if max_batch_tokens:
        budget = BatchBudget(max_tokens=max_batch_tokens, max_items=MAX_BATCH_ROWS, max_wait_s=0)
    else:
        budget = BatchBudget(max_tokens=2**62, max_items=batch_size, max_wait_s=0)
    batcher = DynamicBatcher(budget)
    for j, tokens in enumerate(lengths):
        batcher.add(BatchRequest(key=None, item=j, tokens=tokens, arrived=0.0))
    return [[cast(int, r.item) for r in batch.requests] for batch in batcher.drain()]


def fixed_shape_batches(
    lengths: Sequence[int], *, limit: int, tokens: int, max_rows: int
) -> list[tuple[tuple[int, int], list[int]]]:
    """Indices of ``lengths`` (windows' token counts) cut into batches of fixed shapes.

    A window of ``n`` tokens runs at the width ``n`` rounded up to :data:`FIXED_WIDTH_STEP`
    (at most ``limit``, the longest a window can be), in a batch of ``tokens // width`` rows,
    at least 1 and at most ``max_rows``. Each item is ``((rows, width), indices)``: at most
    ``rows`` indices, in input order; the model runs the batch padded to that shape, the
    missing rows all padding.

    Why: in bfloat16 a text's scores depend on the shape of the batch it is scored in (the
    kernels a shape selects round differently: up to ~0.002), but not on the other rows nor on
    its own row. With the shape a function of the window's length alone, a text scores the same
    whichever poll it comes in, so a replayed input is scored to the same figures.
    """
    if tokens < 1 or max_rows < 1:
        raise ValueError(
            f"fixed_shape_batches needs tokens and max_rows >= 1, got {tokens}, {max_rows}"
        )
    by_width: dict[int, list[int]] = {}
    for j, n in enumerate(lengths):
        width = min(limit, -(-max(n, 1) // FIXED_WIDTH_STEP) * FIXED_WIDTH_STEP)
        by_width.setdefault(max(width, n), []).append(j)
    out: list[tuple[tuple[int, int], list[int]]] = []
    for width in sorted(by_width):
        rows = max(1, min(max_rows, tokens // width))
        found = by_width[width]
        out.extend(((rows, width), found[i : i + rows]) for i in range(0, len(found), rows))
    return out


def runs_in_bf16(backend: str, device: str, cpu_bf16: bool = False) -> bool:
    """Whether the resolved ``backend`` on ``device`` runs the model in bfloat16 on CPU: where
    scores would depend on the batch's shape, so batches take fixed shapes by default."""
    if device.startswith("cuda"):
        return False
    return backend == "torch-bf16" or (cpu_bf16 and backend == "torch")


class ToxicityLoadError(PermanentError):
    """The checkpoint or config directory is missing or cannot be loaded (names the path)."""


def _check_paths(checkpoint: Path, config_dir: Path) -> None:
    if not checkpoint.is_file():
        raise ToxicityLoadError(f"toxicity checkpoint not found (no such file): {checkpoint}")
    if not config_dir.is_dir():
        raise ToxicityLoadError(
            f"toxicity config directory not found (no such directory): {config_dir}"
        )
    if not (config_dir / "config.json").is_file():
        raise ToxicityLoadError(f"toxicity config directory has no config.json: {config_dir}")
    if not any((config_dir / name).is_file() for name in _TOKENIZER_FILES):
        raise ToxicityLoadError(
            f"toxicity config directory has no tokenizer ({', '.join(_TOKENIZER_FILES)}): "
            f"{config_dir}"
        )


def _offline_checkpoint(checkpoint: Path, config_dir: Path) -> str | io.BytesIO:
    """The checkpoint, pointed at ``config_dir`` when it names a hub model.

    Published detoxify checkpoints say ``arch.args.model_type = "xlm-roberta-base"``, which
    detoxify resolves on the model hub. Here that name is replaced in memory by the local
    config directory, so an operator can use the published ``.ckpt`` file as downloaded.
    """
    loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    args = (
        loaded.get("config", {}).get("arch", {}).get("args", {}) if isinstance(loaded, dict) else {}
    )
    if not args or Path(str(args.get("model_type", ""))).is_dir():
        return str(checkpoint)
    args["model_type"] = str(config_dir)
    buffer = io.BytesIO()
    torch.save(loaded, buffer)
    buffer.seek(0)
    return buffer


class ToxicityScorer:
    """Scores texts on the detoxify categories the checkpoint provides (see module docstring).

    Args:
        checkpoint: detoxify checkpoint file (dict with ``config`` and ``state_dict``); its
            ``config.arch.args.model_type`` must resolve offline (a local directory holding the
            HF ``config.json``, e.g. ``config_dir``).
        config_dir: HF config + tokenizer files (detoxify's ``huggingface_config_path``).
        model_type: detoxify model type, used in ``model_id`` (``detoxify-<type>:<file>``,
            with ``+<engine>`` where another engine than torch float32 runs it).
        device: ``"cuda"``/``"cpu"``; ``None`` picks CUDA when available.
        batch_size: windows per forward pass (after length sorting), without a token budget.
        max_batch_tokens: padded tokens per forward pass (rows x longest window); when set,
            batches are cut by it instead of by ``batch_size`` (a window longer than the
            budget runs alone). ``None``: :data:`CUDA_BATCH_TOKENS` on CUDA,
            :data:`CPU_BATCH_TOKENS` on CPU; ``0``: none (batches of ``batch_size``).
        max_length: tokens per window, special tokens included (at most the model's limit);
            longer texts are scored in overlapping windows.
        max_windows: windows per text at most; the rest of a longer text is not scored.
        languages: languages the model scores as written (others need translating first).
        threads: CPU threads for torch (``torch.set_num_threads``, process-wide); ``None`` keeps
            the current setting.
        cpu_bf16: bf16 autocast on CPU with ``backend="torch"`` (much faster where the CPU has
            AMX; ~1e-3 score drift).
        fixed_shapes: run batches in fixed shapes (:func:`fixed_shape_batches`), so that a
            text's scores do not depend on the batch it is in. ``None``: on CPU in bfloat16
            (``torch-bf16``, what ``auto`` picks where the CPU has native bf16, or
            ``cpu_bf16`` with ``torch``), where they would otherwise; off elsewhere (float32
            scores do not depend on batching; nor do ONNX Runtime's and CTranslate2's float32).
        backend: CPU engine, one of :data:`~pipeline.models.toxicity_backends.BACKENDS`
            (ignored on CUDA, where torch runs the model in fp16); ``self.backend`` is the one
            it resolved to (``auto``: ``torch-bf16`` on a CPU with native bf16, else ``torch``).
        cache_dir: where the ONNX backends keep the model exported from ``checkpoint``;
            ``None``: a ``hemicycle-toxicity`` folder in the system's temporary directory.
        compile: run the model through ``torch.compile`` (backends ``torch`` and
            ``torch-bf16`` only; inductor, dynamic shapes, frozen weights): compiled on the
            first batch (tens of seconds; needs a C++ compiler), faster after; a compile
            failure is logged and the model runs as it is.
    """

    def __init__(
        self,
        checkpoint: Path,
        config_dir: Path,
        *,
        model_type: str = "multilingual",
        device: str | None = None,
        batch_size: int = 32,
        max_batch_tokens: int | None = None,
        max_length: int = 256,
        max_windows: int = 16,
        languages: frozenset[str] = MULTILINGUAL_LANGUAGES,
        threads: int | None = None,
        cpu_bf16: bool = False,
        backend: str = DEFAULT_BACKEND,
        cache_dir: Path | None = None,
        compile: bool = False,
        fixed_shapes: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_batch_tokens is not None and max_batch_tokens < 0:
            raise ValueError(f"max_batch_tokens must be >= 0, got {max_batch_tokens}")
        if max_length < 3:
            raise ValueError(f"max_length must be >= 3, got {max_length}")
        if max_windows < 1:
            raise ValueError(f"max_windows must be >= 1, got {max_windows}")
        checkpoint = Path(checkpoint)
        config_dir = Path(config_dir)
        _check_paths(checkpoint, config_dir)

        self.device: str = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if threads is not None and threads > 0 and not self.device.startswith("cuda"):
            torch.set_num_threads(threads)
        self.batch_size = batch_size
        if max_batch_tokens is None:
            cuda = self.device.startswith("cuda")
            max_batch_tokens = CUDA_BATCH_TOKENS if cuda else CPU_BATCH_TOKENS
        self.max_batch_tokens = max_batch_tokens
        self.max_windows = max_windows
        self.languages: frozenset[str] = frozenset(languages)
        self.cpu_bf16 = cpu_bf16
        self.backend = resolve_backend(backend, cuda=self.device.startswith("cuda"))
        if fixed_shapes is None:
            fixed_shapes = runs_in_bf16(self.backend, self.device, cpu_bf16)
        self.fixed_shapes: bool = fixed_shapes
        # Recorded with every score: the engine too where it scores otherwise than torch
        # float32 (CTranslate2 float32 scores as it does: the same figures, the same id).
        engine = "cuda-fp16" if self.device.startswith("cuda") else self.backend
        self.model_id: str = f"detoxify-{model_type}:{checkpoint.name}" + (
            "" if engine in ("torch", "ct2") else f"+{engine}"
        )

        from detoxify import Detoxify  # imported late: pulls in transformers

        try:
            self.detoxify = Detoxify(
                model_type,
                checkpoint=_offline_checkpoint(checkpoint, config_dir),
                huggingface_config_path=str(config_dir),
                device=self.device,
            )
        except Exception as exc:  # detoxify/transformers raise many kinds; name the paths
            raise ToxicityLoadError(
                f"could not load toxicity checkpoint {checkpoint} with config {config_dir}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.model = self.detoxify.model
        self.model.eval()
        self.tokenizer = self.detoxify.tokenizer
        self.max_length = model_token_limit(self.tokenizer, self.model.config, max_length)
        pad_id = self.tokenizer.pad_token_id
        self._pad_id: int = 0 if pad_id is None else int(pad_id)

        columns: list[int] = []
        names: list[str] = []
        for i, raw in enumerate(self.detoxify.class_names):
            name = _ALIASES.get(raw)
            if name is not None and name not in names:
                columns.append(i)
                names.append(name)
        if not names:
            raise ToxicityLoadError(
                f"toxicity checkpoint {checkpoint} has no known category among "
                f"{list(self.detoxify.class_names)}"
            )
        # Report in CATEGORIES order.
        order = sorted(range(len(names)), key=lambda k: CATEGORIES.index(names[k]))
        self.categories: tuple[str, ...] = tuple(names[k] for k in order)
        self._columns = torch.tensor([columns[k] for k in order], dtype=torch.long)
        self._logits: Forward | None = self._load_backend(checkpoint, cache_dir)
        if self._logits is not None:  # the encoder runs elsewhere: free its torch weights
            getattr(self.model, self.model.base_model_prefix).to("meta")
        self._eager: torch.nn.Module | None = None
        if compile and self.backend in COMPILABLE:
            self._eager = self.model
            self.model = compile_model(self.model)

    @classmethod
    def from_settings(cls, settings: Settings) -> ToxicityScorer:
        """The scorer ``settings`` configure (its checkpoint and config directory are set)."""
        if settings.toxicity_checkpoint is None or settings.toxicity_config_dir is None:
            raise ToxicityLoadError("no toxicity model configured (HEMICYCLE_TOXICITY_CHECKPOINT)")
        return cls(
            settings.toxicity_checkpoint,
            settings.toxicity_config_dir,
            batch_size=settings.toxicity_batch_size,
            max_batch_tokens=settings.toxicity_max_batch_tokens,
            max_windows=settings.toxicity_max_windows,
            backend=settings.toxicity_backend,
            cache_dir=settings.data_dir / "cache" / "toxicity",
            compile=settings.toxicity_compile,
            fixed_shapes=None if settings.toxicity_fixed_shapes else False,
        )

    def _load_backend(self, checkpoint: Path, cache_dir: Path | None) -> Forward | None:
        """The logits function of a non-default backend (``None``: ``self.model`` as loaded)."""
        if self.backend == "torch":
            return None
        if self.backend == "torch-int8":
            self.model = torch_int8(self.model)
            return None
        if self.backend == "torch-bf16":
            self.model = self.model.to(torch.bfloat16)
            return None
        from pipeline.models.toxicity_ct2 import Ct2Forward, ct2_model_path
        from pipeline.models.toxicity_onnx import OnnxForward, onnx_model_path

        folder = cache_dir or Path(tempfile.gettempdir()) / "hemicycle-toxicity"
        threads = torch.get_num_threads()
        try:
            if self.backend.startswith("ct2"):
                path = ct2_model_path(self.model, self.tokenizer, checkpoint, self.backend, folder)
                return Ct2Forward(path, self.backend, self.model.classifier, threads)
            path = onnx_model_path(self.model, checkpoint, self.backend, folder)
            return OnnxForward(path, threads)
        except Exception as exc:  # missing packages, export or session failures: name them
            if self.backend == "ct2":  # the default: torch float32 gives the same figures
                log.warning(
                    "CTranslate2 toxicity backend unavailable; running torch float32",
                    extra={"checkpoint": str(checkpoint), "error": f"{type(exc).__name__}: {exc}"},
                )
                self.backend = "torch"
                return None
            raise ToxicityLoadError(
                f"toxicity backend {self.backend} failed for {checkpoint}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # -- scoring ------------------------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.float16)
        if self.cpu_bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _forward(
        self, batch: Sequence[list[int]], shape: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """Sigmoid scores (batch x categories, float32 on CPU) of one padded batch: padded to
        its longest row, or to ``shape`` (rows, width) with rows of padding only after
        ``batch``'s (their scores are dropped)."""
        rows, width = shape or (len(batch), max(len(row) for row in batch))
        input_ids = torch.full((rows, width), self._pad_id, dtype=torch.long)
        attention = torch.zeros((rows, width), dtype=torch.long)
        for r, row in enumerate(batch):
            input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention[r, : len(row)] = 1
        attention[len(batch) :, 0] = 1  # filler rows attend to one pad token: no empty softmax
        input_ids = input_ids.to(self.device)
        attention = attention.to(self.device)
        if self._logits is not None:
            logits = self._logits(input_ids, attention)
        else:
            with self._autocast():
                logits = self._model_logits(input_ids, attention)
        return torch.sigmoid(logits.float()).cpu()[: len(batch), self._columns]

    def _model_logits(self, input_ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        def run() -> torch.Tensor:
            return cast(
                torch.Tensor, self.model(input_ids=input_ids, attention_mask=attention).logits
            )

        if self._eager is None:
            return run()
        try:
            return run()
        except Exception as exc:  # inductor fails in many ways (no compiler, unsupported op)
            log.warning(
                "torch.compile failed for the toxicity model (%s: %s); running it uncompiled",
                type(exc).__name__,
                exc,
            )
            self.model, self._eager = self._eager, None
            return run()

    def _batches(self, lengths: Sequence[int]) -> list[tuple[tuple[int, int] | None, list[int]]]:
        """The model batches of windows of ``lengths``, each with its fixed shape (or None)."""
        if self.fixed_shapes:  # at most FIXED_SHAPE_TOKENS a batch, fewer if configured so
            budget = self.max_batch_tokens
            fixed = fixed_shape_batches(
                lengths,
                limit=self.max_length,
                tokens=min(budget, FIXED_SHAPE_TOKENS) if budget else FIXED_SHAPE_TOKENS,
                max_rows=MAX_BATCH_ROWS if budget else self.batch_size,
            )
            return list[tuple[tuple[int, int] | None, list[int]]](fixed)
        batches = window_batches(
            lengths, batch_size=self.batch_size, max_batch_tokens=self.max_batch_tokens
        )
        return [(None, chunk) for chunk in batches]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Scores in [0, 1] (4 decimals) per category of ``self.categories``, in input order."""
        return [scored.values for scored in self.score_windows(texts)]

    def score_windows(self, texts: Sequence[str]) -> list[WindowedScores]:
        """Like :meth:`score`, with the windows behind each text's scores."""
        results = [WindowedScores(dict.fromkeys(self.categories, 0.0)) for _ in texts]
        live = [i for i, t in enumerate(texts) if t and not t.isspace()]
        if not live:
            return results
        split = split_windows(
            self.tokenizer,
            [texts[i] for i in live],
            limit=self.max_length,
            max_windows=self.max_windows,
            chars_per_token_cap=_CHARS_PER_TOKEN_CAP,
        )
        flat: list[tuple[int, Window]] = [
            (k, window) for k, cut in enumerate(split) for window in cut.windows
        ]
        probs: list[list[float]] = [[] for _ in flat]
        with torch.inference_mode():
            for shape, chunk in self._batches([len(window.ids) for _, window in flat]):
                rows = self._forward([flat[j][1].ids for j in chunk], shape).tolist()
                for j, row in zip(chunk, rows, strict=True):
                    probs[j] = row
        best: list[list[tuple[float, Window] | None]] = [
            [None] * len(self.categories) for _ in split
        ]
        for (k, window), row in zip(flat, probs, strict=True):
            for c, p in enumerate(row):
                current = best[k][c]
                if current is None or p > current[0]:
                    best[k][c] = (p, window)
        for k, cut in enumerate(split):
            scored = results[live[k]]
            scored.windows, scored.capped = len(cut.windows), cut.capped
            for c, name in enumerate(self.categories):
                found = best[k][c]
                if found is None:
                    continue
                scored.values[name] = round(float(found[0]), 4)
                if len(cut.windows) > 1:
                    scored.spans[name] = (found[1].start, found[1].end)
        return results
