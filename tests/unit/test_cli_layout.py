"""The command line is a package of command groups built with public argparse calls only."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import GROUPS, build_cli, main

CLI_DIR = Path(__file__).resolve().parents[2] / "pipeline" / "cli"


def test_every_command_has_a_handler_and_no_two_groups_claim_one() -> None:
    parser, handlers = build_cli()
    seen: dict[str, str] = {}
    for name in GROUPS:
        for command in importlib.import_module(name).register(_Recorder()):
            assert command not in seen, f"{command} in {name} and {seen[command]}"
            seen[command] = name
    assert set(seen) == set(handlers)
    assert parser.parse_args(["status", "--json"]).command == "status"


class _Recorder:
    """Stands for the subparsers object: any object with ``add_parser`` does."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        return argparse.ArgumentParser(prog=name)


@pytest.mark.parametrize("path", sorted(CLI_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_private_argparse_names(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    for private in ("_SubParsersAction", "._actions", "parse_known_args", "_choices_actions"):
        assert private not in source, f"{path.name} uses argparse's {private}"


def test_python_dash_m_is_the_console_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "usage: hemicycle" in done.stdout


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["no-such-command"])
    assert raised.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
