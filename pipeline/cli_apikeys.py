"""``hemicycle apikeys``: subcommands (see pipeline/cli.py EXTENSIONS)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pipeline.config import Settings


def register(
    sub: argparse._SubParsersAction,
) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    return {}
