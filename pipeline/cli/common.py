"""What every command group of the ``hemicycle`` command line shares.

A command group is a module of :mod:`pipeline.cli` with ``register(sub) -> {command: handler}``:
it adds its subcommands to ``sub`` (what ``ArgumentParser.add_subparsers`` returns) and names the
handler of each. A handler gets the parsed arguments and the settings and returns the exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Protocol

from pipeline.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, Settings], int]
Handlers = dict[str, Handler]


class Subcommands(Protocol):
    """The public face of what ``ArgumentParser.add_subparsers`` returns."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...
