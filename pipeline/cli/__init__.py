"""The ``hemicycle`` command line. Subcommand names and flags are the product's interface.

One module per command group (see :mod:`pipeline.cli.common` for what a group provides):
``run`` (demo, ingest, run), ``ops`` (detect, export, status, rebuild), ``models``, ``policy``,
``config``, ``web`` (serve, users), ``apikeys``, ``deliveries``, ``dsa``, ``report``, ``erase``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers
from pipeline.config import ConfigError, load_settings
from pipeline.errors import PermanentError, TransientError
from pipeline.logs import setup_logging

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_cli", "main"]

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a tool ended by SIGPIPE

# The command groups, in the order ``hemicycle --help`` lists their commands.
GROUPS = (
    "pipeline.cli.run",
    "pipeline.cli.ops",
    "pipeline.cli.models",
    "pipeline.cli.policy",
    "pipeline.cli.config",
    "pipeline.cli.web",
    "pipeline.cli.apikeys",
    "pipeline.cli.deliveries",
    "pipeline.cli.dsa",
    "pipeline.cli.report",
    "pipeline.cli.erase",
)


def build_cli() -> tuple[argparse.ArgumentParser, Handlers]:
    """The parser with every group's subcommands, and their handlers by command name."""
    parser = argparse.ArgumentParser(
        prog="hemicycle",
        description="Multilingual moderation and translation pipeline for participatory platforms.",
    )
    parser.add_argument(
        "--config", type=Path, help="TOML configuration file (HEMICYCLE_CONFIG_FILE)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: Handlers = {}
    for name in GROUPS:
        handlers.update(importlib.import_module(name).register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_cli()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_level)
    handler = handlers[args.command]
    try:
        code = handler(args, settings)
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at interpreter exit
        return code
    except (FileNotFoundError, PermanentError) as exc:  # e.g. a worker's own config file
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TransientError as exc:  # a backend out of reach: the same command may work later
        print(f"hemicycle: {exc} (try again later)", file=sys.stderr)
        return EXIT_FAILED
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
