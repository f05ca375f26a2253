"""Reading installed model directories (argos packages, transformers seq2seq) and listing them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pipeline.logs import get_logger
from pipeline.models.translation.base import ModelInfo, TranslationModelError, load_json

log = get_logger("models.translate")

HEMICYCLE_JSON = "hemicycle.json"
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


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _check_code(code: Any, where: Path) -> str:
    if not isinstance(code, str) or not _LANG_CODE.match(code):
        raise TranslationModelError(f"invalid language code {code!r} in {where}")
    return code


def _read_argos(path: Path) -> ModelInfo:
    meta = load_json(path / "metadata.json")
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


def read_hemicycle(path: Path) -> dict[str, Any]:
    file = path / HEMICYCLE_JSON
    return load_json(file) if file.is_file() else {}


def language_tokens(decl: dict[str, Any], path: Path) -> dict[str, str]:
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
    config = load_json(path / "config.json")
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
    decl = read_hemicycle(path)
    name = str(decl.get("name") or path.name)
    languages: frozenset[str]
    if decl.get("multi_target"):
        codes = language_tokens(decl, path)
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
