"""Every log line is a JSON object: our modules log under ``hemicycle``, uvicorn through us too."""

from __future__ import annotations

import ast
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from moderator_ui import server
from pipeline.config import Settings
from pipeline.logs import setup_logging, uvicorn_log_config
from pipeline.models.translation.discovery import list_models

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "moderator_ui").rglob("*.py")])
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _logger_names(path: Path) -> list[str]:
    """The first argument of every ``logging.getLogger(...)`` call, as written."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getLogger"
            and node.args
        ):
            names.append(ast.unparse(node.args[0]))
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_logs_under_the_hemicycle_tree(path: Path) -> None:
    outside = [n for n in _logger_names(path) if not n.strip("f'\"").startswith("hemicycle")]
    assert outside == [], "use pipeline.logs.get_logger(name)"


@pytest.fixture
def restored_loggers() -> Iterator[None]:
    """Puts back the handlers, level and propagation of the loggers a test configures."""
    names = (*UVICORN_LOGGERS, "hemicycle")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[name]


def test_translation_model_warnings_are_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restored_loggers: None
) -> None:
    (tmp_path / "not-a-model").mkdir()
    setup_logging("INFO")
    assert list_models(tmp_path) == []
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["logger"] == "hemicycle.models.translate"
    assert line["level"] == "warning"
    assert line["msg"] == "skipping invalid translation model"
    assert line["path"] == str(tmp_path / "not-a-model")


@pytest.mark.parametrize("name", ["uvicorn.error", "uvicorn.access"])
def test_uvicorn_logs_are_json_lines(
    name: str, capsys: pytest.CaptureFixture[str], restored_loggers: None
) -> None:
    logging.config.dictConfig(uvicorn_log_config("info"))
    logging.getLogger(name).warning("Started server process [%d]", 42)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["logger"], entry["level"], entry["msg"]) == (
        name,
        "warning",
        "Started server process [42]",
    )


def test_hemicycle_serve_gives_uvicorn_that_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restored_loggers: None
) -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not served in this test")

    monkeypatch.setattr(server, "create_app", lambda settings, context=None: app)
    made = server.make_server(Settings(data_dir=tmp_path), host="127.0.0.1", port=0)
    assert isinstance(made, uvicorn.Server)
    assert made.config.log_config == uvicorn_log_config("warning")
