"""``hemicycle erase --platform P (--author A | --id ID) [--yes]``: erase personal data.

See :mod:`pipeline.privacy.erasure`. Without ``--yes`` it asks first (and refuses when there is
no terminal to ask on).
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    erase = sub.add_parser(
        "erase", help="erase an author's or a contribution's personal data (log included)"
    )
    erase.add_argument("--platform", required=True, help="the platform the author writes on")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--author", help="the platform's pseudonymous author id")
    who.add_argument("--id", dest="contribution", help="one contribution (the platform's id)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return {"erase": cmd_erase}


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.api.context import AppContext
    from pipeline.privacy.erasure import NothingToErase, erase

    subject = f"author {args.author!r}" if args.author else f"contribution {args.contribution!r}"
    if not args.yes:
        if not sys.stdin.isatty():
            print("hemicycle: erasure cannot be undone: add --yes to confirm", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"Erase the personal data of {subject} on {args.platform}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing erased", file=sys.stderr)
            return EXIT_FAILED
    context = AppContext(settings)
    try:
        report = erase(
            context.store,
            settings,
            context.publish,
            platform=args.platform,
            author=args.author,
            contribution=args.contribution,
            requested_by="cli",
        )
    except NothingToErase as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        context.close()
    for cid in report.contributions:
        print(cid)
    print(f"erased {len(report.contributions)} contributions of {subject}", file=sys.stderr)
    return EXIT_OK
