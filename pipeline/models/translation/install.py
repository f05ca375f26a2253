"""Installing a model (``.argosmodel`` zip, argos package or transformers directory) offline."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from pipeline.models.translation.base import ModelInfo, TranslationModelError
from pipeline.models.translation.discovery import (
    HEMICYCLE_JSON,
    list_models,
    read_hemicycle,
    read_model,
)

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


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
            decl = read_hemicycle(unpacked)
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
