"""``hemicycle report transparency``: the transparency figures of a period (a command group of
:mod:`pipeline.cli`; see :mod:`pipeline.transparency`).

``--from`` and ``--to`` are days (``YYYY-MM-DD``, UTC, both included); ``--format`` is json
(default), csv or html; ``-o FILE`` writes there instead of standard output.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipeline.cli.common import EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def register(sub: Subcommands) -> Handlers:
    report = sub.add_parser("report", help="reports computed from the store")
    kinds = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    transparency = kinds.add_parser(
        "transparency",
        help="DSA transparency figures: notices, actions, median times, appeals, accuracy",
    )
    transparency.add_argument(
        "--from", dest="start", type=_day, required=True, metavar="DATE", help="first day (UTC)"
    )
    transparency.add_argument(
        "--to", dest="end", type=_day, required=True, metavar="DATE", help="last day, included"
    )
    transparency.add_argument("--format", choices=["json", "csv", "html"], default="json")
    transparency.add_argument(
        "--output", "-o", type=Path, help="write here instead of standard output"
    )
    return {"report": cmd_report}


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.store import open_store
    from pipeline.transparency import FORMATS, transparency_report

    if args.end < args.start:
        print(f"hemicycle: --to {args.end} is before --from {args.start}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(settings)
    try:
        report = transparency_report(store.iter_items(), args.start, args.end)
    finally:
        store.close()
    text = FORMATS[args.format](report)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.format} transparency report to {args.output}", file=sys.stderr)
    return EXIT_OK
