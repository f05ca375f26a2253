"""Operator commands: ``hemicycle detect``, ``export``, ``status`` and ``rebuild``.

The work itself is in :mod:`pipeline.ops`; these parse the flags and print.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
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

    rebuild = sub.add_parser("rebuild", help="wipe the store and rebuild it from the log")
    rebuild.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return {
        "detect": cmd_detect,
        "export": cmd_export,
        "status": cmd_status,
        "rebuild": cmd_rebuild,
    }


def cmd_detect(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ops.detect import detect_file

    if not args.file.is_file():
        raise FileNotFoundError(f"no such file: {args.file}")
    errors = detect_file(args.file, settings, sys.stdout)
    return EXIT_FAILED if errors else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ops.export import export_full, export_record
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
    from pipeline.ops.status import collect_status, format_status, status_json
    from pipeline.store import open_store

    status = collect_status(open_bus(settings), open_store(settings), settings)
    print(status_json(status) if args.json else format_status(status))
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bus import open_bus
    from pipeline.ops.rebuild import rebuild_store
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
