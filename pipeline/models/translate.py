"""Translation model backends: installed model directories, read, installed and loaded offline.

Two engines, one interface (:class:`TranslationBackend`):

* ``argos``: an argostranslate 1.11 package directory (``metadata.json``, ``model/`` in
  CTranslate2 format, ``sentencepiece.model``). Loaded with ``ctranslate2.Translator`` and
  driven directly with ``translate_batch`` over the whole batch (argostranslate's own
  ``translate()`` decodes one text at a time and is only the per-text baseline elsewhere).
* ``transformers``: any local Hugging Face seq2seq directory (MarianMT, NLLB, M2M-100, ...).
  A ``hemicycle.json`` next to ``config.json`` declares what it translates::

      {"pairs": [["en", "de"]]}                                   # pairwise (MarianMT)
      {"languages": {"en": "eng_Latn", "de": "deu_Latn"}, "multi_target": true}  # NLLB/M2M

  Without it, a MarianMT directory named ``...opus-mt-xx-yy`` is taken as the pair (xx, yy).
  ``name`` in ``hemicycle.json`` (written by :func:`install_model`) keeps the model id stable
  when the directory is renamed on install.

A third engine, ``apertium`` (installed Debian pairs), lives in :mod:`pipeline.models.apertium`.

Nothing here downloads anything: transformers is called with ``local_files_only=True`` and
argostranslate is not imported at all. A backend object is meant for one worker thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from pipeline.errors import PermanentError
from pipeline.extras import require
from pipeline.logs import get_logger

__all__ = [
    "ArgosBackend",
    "ModelInfo",
    "TransformersBackend",
    "TranslationBackend",
    "TranslationModelError",
    "install_model",
    "list_models",
    "load_backend",
    "read_model",
]

log = get_logger("models.translate")

Engine = Literal["argos", "transformers", "apertium"]
Item = tuple[str, str, str]  # (text, source, target)

HEMICYCLE_JSON = "hemicycle.json"
_EOS = "</s>"
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "source.spm",
    "sentencepiece.bpe.model",
    "spiece.model",
)
_OPUS_NAME = re.compile(r"opus-mt-(?:.+-)?([a-z]{2,3})-([a-z]{2,3})$")
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class TranslationModelError(PermanentError):
    """A model directory / package is missing, invalid, or asked for a pair it lacks."""


@dataclass(frozen=True)
class ModelInfo:
    """What an installed model directory holds (see :func:`read_model`).

    For many-to-many models ``pairs`` lists every ordered pair of distinct ``languages``.
    """

    engine: Engine
    model_id: str
    path: Path
    pairs: frozenset[tuple[str, str]]
    multi_target: bool
    size_bytes: int
    languages: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.languages:
            langs = frozenset(code for pair in self.pairs for code in pair)
            object.__setattr__(self, "languages", langs)


class TranslationBackend(Protocol):
    """A loaded model. ``translate`` is one batch; outputs are in input order."""

    info: ModelInfo
    device: str

    def count_tokens(self, text: str, source: str) -> int:
        """Source tokens the model would see for ``text`` (0 for blank text)."""
        ...

    def translate(self, items: Sequence[Item]) -> list[str]:
        """Translate ``(text, source, target)`` items; blank text gives ``""``."""
        ...


# --------------------------------------------------------------------------- reading


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TranslationModelError(f"cannot read {path.name} in {path.parent}: {exc}") from exc
    if not isinstance(data, dict):
        raise TranslationModelError(f"{path.name} in {path.parent} is not a JSON object")
    return data


def _check_code(code: Any, where: Path) -> str:
    if not isinstance(code, str) or not _LANG_CODE.match(code):
        raise TranslationModelError(f"invalid language code {code!r} in {where}")
    return code


def _read_argos(path: Path) -> ModelInfo:
    meta = _load_json(path / "metadata.json")
    if meta.get("type", "translate") != "translate":
        raise TranslationModelError(
            f"argos package {path} has type {meta.get('type')!r}, not 'translate'"
        )
    src = _check_code(meta.get("from_code"), path / "metadata.json")
    tgt = _check_code(meta.get("to_code"), path / "metadata.json")
    if not (path / "model" / "model.bin").is_file():
        raise TranslationModelError(f"argos package {path} has no CTranslate2 model/model.bin")
    if not (path / "sentencepiece.model").is_file():
        raise TranslationModelError(
            f"argos package {path} has no sentencepiece.model (BPE packages are not supported)"
        )
    version = str(meta.get("package_version", "0"))
    return ModelInfo(
        engine="argos",
        model_id=f"argos:{src}_{tgt}-{version}",
        path=path,
        pairs=frozenset({(src, tgt)}),
        multi_target=False,
        size_bytes=_dir_size(path),
    )


def _infer_pair_from_name(name: str) -> tuple[str, str] | None:
    match = _OPUS_NAME.search(name)
    return (match.group(1), match.group(2)) if match else None


def _read_hemicycle(path: Path) -> dict[str, Any]:
    file = path / HEMICYCLE_JSON
    return _load_json(file) if file.is_file() else {}


def _language_tokens(decl: dict[str, Any], path: Path) -> dict[str, str]:
    """hemicycle.json ``languages``: a mapping code → model language token (or a code list)."""
    where = path / HEMICYCLE_JSON
    langs = decl.get("languages")
    if isinstance(langs, list):
        langs = {code: code for code in langs}
    if not isinstance(langs, dict) or len(langs) < 2:
        raise TranslationModelError(
            f"{where}: multi_target needs 'languages' mapping two or more codes to model tokens"
        )
    out: dict[str, str] = {}
    for code, token in langs.items():
        if not isinstance(token, str) or not token:
            raise TranslationModelError(f"{where}: bad language token for {code!r}")
        out[_check_code(code, where)] = token
    return out


def _read_transformers(path: Path) -> ModelInfo:
    config = _load_json(path / "config.json")
    archs = config.get("architectures") or []
    seq2seq = bool(config.get("is_encoder_decoder")) or any(
        str(a).endswith(("ForConditionalGeneration", "MTModel")) for a in archs
    )
    if not seq2seq:
        raise TranslationModelError(f"{path} is not an encoder-decoder (seq2seq) model")
    if not any((path / name).is_file() for name in _WEIGHT_FILES):
        raise TranslationModelError(f"{path} has no weights ({', '.join(_WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise TranslationModelError(f"{path} has no tokenizer ({', '.join(_TOKENIZER_FILES)})")
    decl = _read_hemicycle(path)
    name = str(decl.get("name") or path.name)
    languages: frozenset[str]
    if decl.get("multi_target"):
        codes = _language_tokens(decl, path)
        languages = frozenset(codes)
        pairs = frozenset((a, b) for a in codes for b in codes if a != b)
        multi = True
    else:
        raw = decl.get("pairs")
        if raw is None:
            pair = _infer_pair_from_name(name)
            if pair is None:
                raise TranslationModelError(
                    f"{path}: no {HEMICYCLE_JSON} declaring pairs/languages and the directory "
                    "name is not opus-mt-xx-yy"
                )
            raw = [list(pair)]
        if not isinstance(raw, list) or not raw:
            raise TranslationModelError(f"{path / HEMICYCLE_JSON}: 'pairs' must be a list")
        where = path / HEMICYCLE_JSON
        checked = set()
        for pair in raw:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise TranslationModelError(f"{where}: bad pair {pair!r}")
            checked.add((_check_code(pair[0], where), _check_code(pair[1], where)))
        pairs = frozenset(checked)
        languages = frozenset(code for pair in pairs for code in pair)
        multi = False
    return ModelInfo(
        engine="transformers",
        model_id=f"transformers:{name}",
        path=path,
        pairs=pairs,
        multi_target=multi,
        size_bytes=_dir_size(path),
        languages=languages,
    )


def read_model(path: Path) -> ModelInfo:
    """Inspect an installed model directory (argos: ``metadata.json``; transformers:
    ``config.json`` + ``hemicycle.json``). Raises :class:`TranslationModelError` naming ``path``.
    """
    path = Path(path)
    if not path.is_dir():
        raise TranslationModelError(f"model directory not found: {path}")
    if (path / "metadata.json").is_file():
        return _read_argos(path)
    if (path / "config.json").is_file():
        return _read_transformers(path)
    raise TranslationModelError(
        f"{path} is neither an argos package (no metadata.json) "
        "nor a transformers model (no config.json)"
    )


def list_models(models_dir: Path) -> list[ModelInfo]:
    """Every valid model directory under ``models_dir`` (sorted by name); invalid ones are
    skipped with a warning. Hidden directories (install staging) are ignored."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    out = []
    for child in sorted(models_dir.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        try:
            out.append(read_model(child))
        except TranslationModelError as exc:
            log.warning(
                "skipping invalid translation model",
                extra={"path": str(child), "error": str(exc)},
            )
    return out


# --------------------------------------------------------------------------- installing


def _safe_name(model_id: str) -> str:
    return _UNSAFE_CHARS.sub("_", model_id.replace(":", "_")).strip("._") or "model"


def _extract_argosmodel(archive: Path, staging: Path) -> Path:
    """Extract a zip with exactly one top-level folder into ``staging``; returns that folder."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n and not n.startswith("__MACOSX/")]
            tops = set()
            for name in names:
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts or not parts:
                    raise TranslationModelError(f"unsafe path {name!r} in {archive}")
                tops.add(parts[0])
            if len(tops) != 1 or all("/" not in n for n in names):
                raise TranslationModelError(
                    f"{archive} must hold exactly one top-level folder (found {sorted(tops)})"
                )
            for name in names:
                zf.extract(name, staging)
    except zipfile.BadZipFile as exc:
        raise TranslationModelError(f"{archive} is not a zip (.argosmodel) file: {exc}") from exc
    return staging / tops.pop()


def install_model(source: Path, models_dir: Path) -> ModelInfo:
    """Install ``source`` (a ``.argosmodel`` zip, an argos package dir, or a transformers seq2seq
    dir) into ``models_dir/<model-id-safe-name>/``; validates it and refuses a duplicate id.
    Never downloads. Returns the installed model's info."""
    source = Path(source)
    models_dir = Path(models_dir)
    if not source.exists():
        raise TranslationModelError(f"model source not found: {source}")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=models_dir))
    try:
        if source.is_file():
            unpacked = _extract_argosmodel(source, staging)
        else:
            unpacked = staging / source.name
            shutil.copytree(source, unpacked, symlinks=False)
        info = read_model(unpacked)
        if info.engine == "transformers":
            # Pin the id and pairs so the renamed copy reads back identically.
            decl = _read_hemicycle(unpacked)
            decl.setdefault("name", info.model_id.split(":", 1)[1])
            if not info.multi_target:
                decl.setdefault("pairs", sorted([list(p) for p in info.pairs]))
            (unpacked / HEMICYCLE_JSON).write_text(json.dumps(decl, indent=2) + "\n")
        existing = {m.model_id: m.path for m in list_models(models_dir)}
        if info.model_id in existing:
            raise TranslationModelError(
                f"model {info.model_id} is already installed at {existing[info.model_id]}"
            )
        dest = models_dir / _safe_name(info.model_id)
        if dest.exists():
            raise TranslationModelError(f"cannot install {info.model_id}: {dest} already exists")
        unpacked.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_model(dest)


# --------------------------------------------------------------------------- backends


def _check_pairwise(info: ModelInfo, items: Sequence[Item]) -> None:
    pairs = {(src, tgt) for _text, src, tgt in items}
    if len(pairs) > 1:
        raise TranslationModelError(
            f"{info.model_id} is pairwise: one batch must share one pair, got {sorted(pairs)}"
        )
    for pair in pairs:
        if pair not in info.pairs:
            raise TranslationModelError(
                f"{info.model_id} ({info.path}) does not translate {pair[0]}->{pair[1]} "
                f"(pairs: {sorted(info.pairs)})"
            )


def _decode_budget(longest: int, cap: int) -> int:
    """Output length limit: generous for real translations, bounded for degenerate loops."""
    return max(1, min(cap, int(longest * 1.5) + 10))


class ArgosBackend:
    """An argos package driven with ``ctranslate2.Translator.translate_batch``."""

    def __init__(
        self,
        info: ModelInfo,
        *,
        device: str,
        beam_size: int,
        max_batch_size: int,
        threads: int | None,
        max_input_tokens: int,
    ) -> None:
        import ctranslate2
        import sentencepiece

        self.info = info
        self.device = device
        self.beam_size = beam_size
        self.max_batch_size = max_batch_size
        self.max_input_tokens = max(2, max_input_tokens)
        model_dir = info.path / "model"
        if device == "cuda":
            supported = ctranslate2.get_supported_compute_types("cuda")
            preferred = [t for t in ("int8_float16", "float16") if t in supported]
            compute_type = preferred[0] if preferred else "default"
        else:
            compute_type = "int8"
        workers = threads if threads is not None else min(2, os.cpu_count() or 1)
        try:
            self.translator = ctranslate2.Translator(
                str(model_dir),
                device=device,
                compute_type=compute_type,
                inter_threads=max(1, workers) if device == "cpu" else 1,
                intra_threads=1,
            )
            self.sp = sentencepiece.SentencePieceProcessor(
                model_file=str(info.path / "sentencepiece.model")
            )
        except (RuntimeError, OSError, ValueError) as exc:
            raise TranslationModelError(f"cannot load argos model {info.path}: {exc}") from exc
        ct2_config_path = model_dir / "config.json"
        ct2_config = _load_json(ct2_config_path) if ct2_config_path.is_file() else {}
        # CTranslate2 appends </s> itself when its config says add_source_eos; otherwise we do.
        self._append_eos = not ct2_config.get("add_source_eos", False)
        meta = _load_json(info.path / "metadata.json")
        self._target_prefix = str(meta.get("target_prefix") or "")

    def _tokens(self, text: str) -> list[str]:
        pieces: list[str] = self.sp.encode(text, out_type=str)
        return pieces[: self.max_input_tokens - 1]

    def count_tokens(self, text: str, source: str) -> int:
        if not text.strip():
            return 0
        return len(self.sp.encode(text, out_type=str)) + 1  # + </s>

    def translate(self, items: Sequence[Item]) -> list[str]:
        _check_pairwise(self.info, items)
        out = [""] * len(items)
        todo: list[int] = []
        batch: list[list[str]] = []
        for i, (text, _src, _tgt) in enumerate(items):
            if not text.strip():
                continue
            tokens = self._tokens(text)
            if not tokens:
                continue
            todo.append(i)
            batch.append([*tokens, _EOS] if self._append_eos else tokens)
        if not batch:
            return out
        longest = max(len(t) for t in batch)
        prefix = [[self._target_prefix]] * len(batch) if self._target_prefix else None
        results = self.translator.translate_batch(
            batch,
            target_prefix=prefix,
            beam_size=self.beam_size,
            max_batch_size=self.max_batch_size,
            max_input_length=self.max_input_tokens,
            max_decoding_length=_decode_budget(longest, 2 * self.max_input_tokens),
        )
        for i, result in zip(todo, results, strict=True):
            hyp = list(result.hypotheses[0])
            if self._target_prefix and hyp[:1] == [self._target_prefix]:
                hyp = hyp[1:]
            out[i] = self.sp.decode_pieces(hyp).strip()
        return out


class TransformersBackend:
    """A local Hugging Face seq2seq model (pairwise MarianMT or many-to-many NLLB/M2M-100)."""

    def __init__(
        self,
        info: ModelInfo,
        *,
        device: str,
        beam_size: int,
        max_batch_size: int,
        threads: int | None,
        max_input_tokens: int,
    ) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.info = info
        self.device = device
        self.beam_size = beam_size
        self.max_batch_size = max(1, max_batch_size)
        if threads is not None and device == "cpu":
            torch.set_num_threads(max(1, threads))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(info.path), local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(str(info.path), local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise TranslationModelError(
                f"cannot load transformers model {info.path}: {exc}"
            ) from exc
        model.eval()
        # We always pass max_new_tokens; a checkpoint's own max_length (Marian ships 512) would
        # only make generate() warn on every call.
        model.generation_config.max_length = None
        if device == "cuda":
            model = model.to(device="cuda", dtype=torch.float16)
        self.model = model
        self._torch = torch
        positions = getattr(model.config, "max_position_embeddings", None) or 1024
        self.max_input_tokens = max(2, min(max_input_tokens, positions))
        self._max_output_tokens = max(2, min(2 * self.max_input_tokens, positions - 1))
        self._lang_tokens: dict[str, str] = {}
        self._lang_ids: dict[str, int] = {}
        if info.multi_target:
            self._lang_tokens = _language_tokens(_read_hemicycle(info.path), info.path)
            unk = self.tokenizer.unk_token_id
            for code, token in self._lang_tokens.items():
                token_id = self.tokenizer.convert_tokens_to_ids(token)
                if token_id is None or token_id == unk:
                    raise TranslationModelError(
                        f"{info.path}: language token {token!r} for {code!r} is not in the "
                        "tokenizer vocabulary"
                    )
                self._lang_ids[code] = int(token_id)

    def _set_source(self, source: str) -> None:
        if self.info.multi_target and hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = self._lang_tokens[source]

    def count_tokens(self, text: str, source: str) -> int:
        if not text.strip():
            return 0
        if self.info.multi_target and source in self._lang_tokens:
            self._set_source(source)
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _check(self, items: Sequence[Item]) -> None:
        if not self.info.multi_target:
            _check_pairwise(self.info, items)
            return
        for _text, src, tgt in items:
            if src not in self._lang_tokens or tgt not in self._lang_tokens:
                raise TranslationModelError(
                    f"{self.info.model_id} ({self.info.path}) does not translate {src}->{tgt} "
                    f"(languages: {sorted(self._lang_tokens)})"
                )

    def translate(self, items: Sequence[Item]) -> list[str]:
        self._check(items)
        out = [""] * len(items)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, (text, src, tgt) in enumerate(items):
            if text.strip():
                groups.setdefault((src, tgt), []).append(i)
        for (src, tgt), indices in groups.items():
            self._set_source(src)
            texts = [items[i][0] for i in indices]
            for idx_chunk, outputs in self._generate(texts, tgt, indices):
                for i, text in zip(idx_chunk, outputs, strict=True):
                    out[i] = text
        return out

    def _generate(
        self, texts: list[str], target: str, indices: list[int]
    ) -> Iterable[tuple[list[int], list[str]]]:
        """Length-sorted chunks of ``max_batch_size``; yields (original indices, outputs)."""
        torch = self._torch
        ids = self.tokenizer(
            texts, add_special_tokens=True, truncation=True, max_length=self.max_input_tokens
        )["input_ids"]
        order = sorted(range(len(texts)), key=lambda k: len(ids[k]))
        pad_id = self.tokenizer.pad_token_id or 0
        extra: dict[str, Any] = {}
        if self.info.multi_target:
            extra["forced_bos_token_id"] = self._lang_ids[target]
        for start in range(0, len(order), self.max_batch_size):
            chunk = order[start : start + self.max_batch_size]
            width = max(len(ids[k]) for k in chunk)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, k in enumerate(chunk):
                input_ids[row, : len(ids[k])] = torch.tensor(ids[k])
                mask[row, : len(ids[k])] = 1
            with torch.inference_mode():
                generated = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    num_beams=self.beam_size,
                    max_new_tokens=_decode_budget(width, self._max_output_tokens),
                    **extra,
                )
            decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            yield [indices[k] for k in chunk], [d.strip() for d in decoded]


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
    kwargs: dict[str, Any] = {
        "device": chosen,
        "beam_size": max(1, beam_size),
        "max_batch_size": max(1, max_batch_size),
        "threads": threads,
        "max_input_tokens": max_input_tokens,
    }
    if info.engine == "argos":
        return ArgosBackend(info, **kwargs)
    if info.engine == "transformers":
        return TransformersBackend(info, **kwargs)
    if info.engine == "apertium":
        from pipeline.models.apertium import ApertiumBackend

        return ApertiumBackend(info)
    raise TranslationModelError(f"unknown engine {info.engine!r} for {info.path}")
