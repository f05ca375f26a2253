"""Every exception of ours is in the hierarchy of :mod:`pipeline.errors`, drawn in its docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import moderator_ui
import pipeline
from pipeline import errors
from pipeline.api.apikeys import ApiKeyError
from pipeline.bus.base import BusConfigError, BusUnavailable, RecordsRefused
from pipeline.cli import main
from pipeline.config import ConfigError
from pipeline.errors import HemicycleError, PermanentError, TransientError
from pipeline.policy import PolicyError
from pipeline.privacy.erasure import NothingToErase
from pipeline.privacy.sealing import SealError
from pipeline.schemas import EventDecodeError
from pipeline.store.base import StoreUnavailable
from pipeline.workers.runner import StageError
from pipeline.workers.triage import ConcurrentWriteError


def _our_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (pipeline, moderator_ui):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                ):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


OURS = _our_exceptions()


@pytest.mark.parametrize("cls", OURS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_exception_of_ours_is_a_hemicycle_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, HemicycleError), "derive it from TransientError or PermanentError"
    assert not (issubclass(cls, TransientError) and issubclass(cls, PermanentError))


def test_the_docstring_draws_every_public_exception() -> None:
    drawn = errors.__doc__ or ""
    missing = [c.__name__ for c in OURS if not c.__name__.startswith("_")]
    assert [name for name in missing if name not in drawn] == [], "add it to the drawing"


def test_outages_are_transient_and_bad_inputs_permanent() -> None:
    for cls in (BusUnavailable, StoreUnavailable, ConcurrentWriteError):
        assert issubclass(cls, TransientError), cls
    for cls in (ConfigError, BusConfigError, RecordsRefused, EventDecodeError, StageError):
        assert issubclass(cls, PermanentError), cls


def test_classes_keep_the_builtin_bases_code_catches() -> None:
    for cls in (ApiKeyError, PolicyError, SealError, EventDecodeError):
        assert issubclass(cls, ValueError), cls
    assert issubclass(NothingToErase, LookupError)
    assert issubclass(ConcurrentWriteError, RuntimeError)


@pytest.mark.parametrize(
    ("error", "code"),
    [(StoreUnavailable("redis is down"), 1), (PolicyError("no thresholds"), 2)],
)
def test_the_cli_exits_1_on_a_transient_error_and_2_on_a_permanent_one(
    error: Exception,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fails(*_: object) -> int:
        raise error

    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("pipeline.cli.ops.cmd_status", fails)
    assert main(["status"]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"hemicycle: {error}")
    assert "Traceback" not in err
