"""The ``hemicycle`` command line. Subcommand names and flags are the product's interface."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.config import ConfigError, Settings, load_settings
from pipeline.logs import setup_logging
from pipeline.workers import ALL_WORKERS, WORKER_NAMES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a tool ended by SIGPIPE

Handler = Callable[[argparse.Namespace, Settings], int]

# Modules adding subcommands: each has ``register(sub) -> {command: handler}``.
EXTENSIONS = (
    "pipeline.cli_web",
    "pipeline.cli_apikeys",
    "pipeline.cli_deliveries",
    "pipeline.dsa.cli",
    "pipeline.cli_report",
    "pipeline.cli_erase",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hemicycle",
        description="Multilingual moderation and translation pipeline for participatory platforms.",
    )
    parser.add_argument(
        "--config", type=Path, help="TOML configuration file (HEMICYCLE_CONFIG_FILE)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run every worker on the embedded bus with a bundled sample")
    demo.add_argument("--until-idle", action="store_true", help="exit once the sample is processed")
    demo.add_argument(
        "--sample", type=Path, help="JSONL file to ingest instead of the bundled sample"
    )

    ingest = sub.add_parser("ingest", help="publish contributions from a JSONL file")
    ingest.add_argument("file", type=Path, metavar="FILE.jsonl")
    ingest.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: on a terminal, for large files)",
    )

    run = sub.add_parser("run", help="run workers")
    run.add_argument(
        "--worker",
        action="append",
        choices=ALL_WORKERS,
        metavar="NAME",
        help=f"worker to run, repeatable ({', '.join(ALL_WORKERS)}; default: "
        f"{', '.join(WORKER_NAMES)}; delivery runs only when named, as its own process)",
    )
    run.add_argument(
        "--until-idle",
        action="store_true",
        help="exit 0 once every input event is processed and committed",
    )

    detect = sub.add_parser("detect", help="offline language identification of a JSONL file")
    detect.add_argument("file", type=Path, metavar="FILE.jsonl")

    export = sub.add_parser("export", help="one JSON object per contribution")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    export.add_argument(
        "--full",
        action="store_true",
        help="every field of every queue item (revision, conflicts, timestamps, decision ids)",
    )

    status = sub.add_parser("status", help="topic counts, consumer lag, queue counts, dead letters")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    models = sub.add_parser("models", help="translation models (offline, from local files)")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    install = models_sub.add_parser("install", help="install a .argosmodel file or a model dir")
    install.add_argument("source", type=Path, metavar="FILE.argosmodel|DIR")
    models_sub.add_parser("list", help="installed models: pairs, engine, size, device")

    policy = sub.add_parser("policy", help="moderation policy")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser("check", help="validate a policy file and show what it does")
    check.add_argument("file", type=Path, metavar="FILE")

    rebuild = sub.add_parser("rebuild", help="wipe the store and rebuild it from the log")
    rebuild.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_sub.add_parser("show", help="print the effective configuration, secrets masked")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def build_cli() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The parser with every extension's subcommands, and their handlers."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    handlers: dict[str, Handler] = {}
    for name in EXTENSIONS:
        handlers.update(importlib.import_module(name).register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, extra = build_cli()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_level)
    handler = {
        "demo": cmd_demo,
        "ingest": cmd_ingest,
        "run": cmd_run,
        "detect": cmd_detect,
        "export": cmd_export,
        "status": cmd_status,
        "config": cmd_config,
        "rebuild": cmd_rebuild,
        "policy": cmd_policy,
        "models": cmd_models,
        **extra,
    }[args.command]
    try:
        code = handler(args, settings)
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at interpreter exit
        return code
    except (FileNotFoundError, ConfigError) as exc:  # e.g. a worker's own config file
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _quiet_broken_pipe() -> int:
    """The reader went away (``hemicycle export | head -1``): end quietly, like any Unix tool.

    Output still buffered would raise again when Python flushes stdout at exit, so stdout is
    pointed at /dev/null first.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    values = settings.masked()
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for key, value in values.items():
            shown = ",".join(value) if isinstance(value, list) else value
            print(f"HEMICYCLE_{key.upper()} = {shown}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bus import open_bus
    from pipeline.ingest import ingest_file

    if not args.file.is_file():
        raise FileNotFoundError(f"no such file: {args.file}")
    bus = open_bus(settings)
    report = ingest_file(args.file, bus, settings, progress=args.progress)
    for number, reason in report.rejected:
        print(f"{args.file}:{number}: rejected: {reason}", file=sys.stderr)
    print(
        f"accepted {report.accepted}, rejected {len(report.rejected)} "
        f"→ {settings.topic('submitted')}"
    )
    return EXIT_FAILED if report.rejected else EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import Pipeline

    with Pipeline(settings, args.worker or list(WORKER_NAMES)) as pipeline:
        pipeline.run(until_idle=args.until_idle)
    return EXIT_OK


def cmd_detect(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.detect import detect_file

    if not args.file.is_file():
        raise FileNotFoundError(f"no such file: {args.file}")
    errors = detect_file(args.file, settings, sys.stdout)
    return EXIT_FAILED if errors else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.export import export_full, export_record
    from pipeline.store import open_store

    store = open_store(settings)
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        for item in store.iter_items():
            record = export_full(item) if args.full else export_record(item)
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=args.full) + "\n")
    finally:
        if args.output:
            out.close()
        store.close()
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bus import open_bus
    from pipeline.status import collect_status, format_status, status_json
    from pipeline.store import open_store

    status = collect_status(open_bus(settings), open_store(settings), settings)
    print(status_json(status) if args.json else format_status(status))
    return EXIT_OK


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.models.translate import TranslationModelError, install_model

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
    import torch

    from pipeline.models.catalog import available_models

    device = "cuda" if torch.cuda.is_available() else "cpu"
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


def cmd_policy(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.policy import PolicyError, load_policy
    from pipeline.policy_report import describe_policy

    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"hemicycle: invalid policy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(describe_policy(policy, args.file))
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bus import open_bus
    from pipeline.rebuild import rebuild_store
    from pipeline.store import open_store

    if not args.yes:
        if not sys.stdin.isatty():
            print("hemicycle: rebuild wipes the store; pass --yes to confirm", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"Wipe the {settings.store} store and replay the log? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            return EXIT_FAILED
    report = rebuild_store(
        open_bus(settings), open_store(settings), settings, progress=sys.stderr.isatty()
    )
    print(
        f"replayed {report.replayed} events into {report.items} items "
        f"({report.skipped_invalid} invalid records skipped)"
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo import run_demo

    return run_demo(settings, sample=args.sample, until_idle=args.until_idle)


if __name__ == "__main__":
    sys.exit(main())
