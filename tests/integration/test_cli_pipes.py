"""``hemicycle export | head -1`` and ``hemicycle models list | head``: a reader that goes away
ends the command quietly (no traceback), as it ends any Unix tool.

The reader is gone before the command writes (the pipe's read end is closed at once), so every
write fails the same way whatever the timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import EXIT_BROKEN_PIPE
from tests.conftest import contribution
from tests.integration.conftest import REPO, hemicycle


def run_into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            cwd=REPO,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("command", [["models", "list"], ["config", "show"]])
def test_a_listing_into_a_closed_pipe_ends_quietly(
    embedded_env: dict[str, str], command: list[str]
) -> None:
    proc = run_into_closed_pipe(embedded_env, *command)
    assert proc.stderr == ""
    assert proc.returncode == EXIT_BROKEN_PIPE


def test_export_into_a_closed_pipe_ends_quietly(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    rows = [json.dumps(contribution(n)) for n in range(1, 4)]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    hemicycle(embedded_env, "ingest", str(source))
    hemicycle(embedded_env, "run", "--until-idle")
    assert len(hemicycle(embedded_env, "export").stdout.splitlines()) == 3

    proc = run_into_closed_pipe(embedded_env, "export")
    assert proc.stderr == ""
    assert proc.returncode == EXIT_BROKEN_PIPE
