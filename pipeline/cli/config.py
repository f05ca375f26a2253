"""``hemicycle config show``: the effective configuration, secrets masked."""

from __future__ import annotations

import argparse
import json

from pipeline.cli.common import EXIT_OK, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_sub.add_parser("show", help="print the effective configuration, secrets masked")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    return {"config": cmd_config}


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    values = settings.masked()
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for key, value in values.items():
            shown = ",".join(value) if isinstance(value, list) else value
            print(f"HEMICYCLE_{key.upper()} = {shown}")
    return EXIT_OK
