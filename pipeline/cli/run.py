"""``hemicycle demo``, ``hemicycle ingest`` and ``hemicycle run``: feed and run the pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, Handlers, Subcommands
from pipeline.config import Settings
from pipeline.workers import ALL_WORKERS, WORKER_NAMES


def register(sub: Subcommands) -> Handlers:
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
    return {"demo": cmd_demo, "ingest": cmd_ingest, "run": cmd_run}


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo import run_demo

    return run_demo(settings, sample=args.sample, until_idle=args.until_idle)


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
