"""``hemicycle models install|list``: translation models, offline, from local files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    models = sub.add_parser("models", help="translation models (offline, from local files)")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    install = models_sub.add_parser("install", help="install a .argosmodel file or a model dir")
    install.add_argument("source", type=Path, metavar="FILE.argosmodel|DIR")
    models_sub.add_parser("list", help="installed models: pairs, engine, size, device")
    return {"models": cmd_models}


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.models.translation.base import TranslationModelError
    from pipeline.models.translation.install import install_model

    models_dir = settings.resolved_models_dir
    if args.models_command == "install":
        if not args.source.exists():
            raise FileNotFoundError(f"no such file or directory: {args.source}")
        try:
            info = install_model(args.source, models_dir)
        except TranslationModelError as exc:
            print(f"hemicycle: {exc}", file=sys.stderr)
            return EXIT_FAILED
        pairs = ", ".join(f"{s}→{t}" for s, t in sorted(info.pairs))
        print(f"installed {info.model_id} ({info.engine}, {pairs}) into {info.path}")
        return EXIT_OK
    from pipeline.models.catalog import available_models

    device = _device()
    found = available_models(settings)
    engines = ", ".join(settings.translation_engines)
    print(f"models in {models_dir} and installed Apertium pairs ({engines}): {len(found)}")
    for info in found:
        pairs = ", ".join(f"{s}→{t}" for s, t in sorted(info.pairs))
        if info.multi_target:
            pairs = f"many-to-many ({len(info.pairs)} pairs)"
        size = f"{info.size_bytes / 1e6:.1f} MB"
        where = "cpu" if info.engine == "apertium" else device
        print(f"  {info.model_id:<40} {info.engine:<12} {size:>10}  {where:<5} {pairs}")
    from pipeline.models.toxicity_info import describe_toxicity

    print(describe_toxicity(settings))
    return EXIT_OK


def _device() -> str:
    """Where transformers models would run: CUDA when torch is installed and sees a GPU."""
    from pipeline.extras import installed

    if not installed("translate", "torch"):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
