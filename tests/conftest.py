"""Shared fixtures: settings in a temporary data dir, and event builders."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from filelock import FileLock
from hypothesis import settings as hypothesis_settings

from moderator_ui import accounts
from pipeline.config import Settings
from tests.services import RedisServer, Tansu

REPO = Path(__file__).resolve().parents[1]
# One intra-op thread for torch (and anything else OpenMP) in the test processes and the
# commands they start: pytest-xdist already runs a worker per core, and the tiny models gain
# nothing from a second thread but spin on it (the tiny Marian's training: 36 s of CPU on two
# threads, 23 s on one, the same wall time). Set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Compiled modules are kept (in __pycache__/, which git ignores) even where
# PYTHONDONTWRITEBYTECODE is set, as some machines set it for everyone: without them pytest
# rewrites every test module again in each worker, and every `hemicycle` command the suite starts
# (~170) compiles each module it imports again: together a seventh of the suite's CPU. Set before
# pytest-xdist starts its workers and before any test module is imported.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
T = TypeVar("T")

# Passwords are hashed at argon2id's lowest cost in the test processes: the product's cost
# (RFC 9106 low-memory, 64 MiB) takes ~150 ms a hash, and the suite creates and logs in
# accounts thousands of times. The hashes are real and verified for real; the commands that
# tests run as subprocesses (`hemicycle serve`, `users add`) hash at the product's cost.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
accounts._DUMMY_HASH = accounts._hasher.hash("not a password of anyone")

# Property tests draw new cases on a developer's machine; in CI they replay a fixed set, so a
# run never fails on a case no one has seen before.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def shared_build(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """``build(directory)``, run once per test run: the first pytest-xdist worker to ask builds
    ``name`` under a file lock, the others wait and reuse it (a tiny model costs seconds to
    tens of seconds of CPU to train). What it builds is read-only to the tests."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's base temp, shared by every worker
    target = root / "trained-models" / name
    done = target.with_name(f"{name}.result.pickle")
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)  # what a build cut short left
            target.mkdir()
            done.write_bytes(pickle.dumps(build(target)))
    return pickle.loads(done.read_bytes())


@pytest.fixture(autouse=True)
def _hemicycle_logger_restored() -> Iterator[None]:
    """Each test starts with the ``hemicycle`` logger as it was: a command run in-process
    (``pipeline.cli.main``) sets up JSON logging on stderr without propagation, which would hide
    later tests' records from ``caplog`` depending on which tests shared the worker before."""
    logger = logging.getLogger("hemicycle")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], level, logger.propagate = saved
    logger.setLevel(level)


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    broker = Tansu(tmp_path_factory.mktemp("tansu"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny en→de MarianMT trained at test time (~25 s, once per session). Read-only."""
    from tests.translation_models import build_tiny_marian

    return shared_build(
        tmp_path_factory, "marian", lambda d: build_tiny_marian(d / "opus-mt-tiny-en-de")
    )


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny trained detoxify-style model (``tests/toxicity_model.py``) as
    ``(checkpoint, config_dir)``, built once per run. Read-only."""
    from tests.toxicity_model import build_tiny_detoxify

    return shared_build(tmp_path_factory, "detoxify", build_tiny_detoxify)


@pytest.fixture(scope="session")
def tiny_detoxify_documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """:func:`tiny_detoxify` further trained on multi-sentence texts (``document_steps``), to
    score a sentence inside a long text. Read-only."""
    from tests.toxicity_model import build_tiny_detoxify

    return shared_build(
        tmp_path_factory, "detoxify-documents", lambda d: build_tiny_detoxify(d, document_steps=150)
    )


@pytest.fixture(scope="session")
def argos_package(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`tiny_marian` packaged as a .argosmodel (once per session). Read-only."""
    from tests.translation_models import build_argos_package

    return shared_build(
        tmp_path_factory, "argos-package", lambda d: build_argos_package(tiny_marian, d)
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    for key in list(os.environ):
        if key.startswith("HEMICYCLE_"):
            monkeypatch.delenv(key)
    yield Settings(
        data_dir=tmp_path / "data",
        partitions=3,
        retry_backoff_ms=0,
        translation_engines=["argos", "transformers"],  # installed Apertium pairs: opt in
    )


def contribution(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid contribution as a platform would send it."""
    base: dict[str, Any] = {
        "id": f"c-{n}",
        "version": 1,
        "platform": "decidim-test",
        "space": "climate",
        "kind": "proposal",
        "author": f"u-{n % 7}",
        "title": None,
        "body": "We should plant more trees along the river and build safe cycle lanes.",
        "created_at": (datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=n)).isoformat(),
        "locale_hint": None,
        "parent_id": None,
        "url": None,
    }
    base.update(overrides)
    return base


END_TO_END = ("tests/integration/", "tests/interop/")
#: Session fixtures that train a model: the modules using them start early (see below).
TRAINED_MODELS = frozenset(
    {"tiny_marian", "argos_package", "tiny_detoxify", "tiny_detoxify_documents"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first, each module kept whole: one module per trained model (so each
    model is built at the start, not while other workers wait for it), the end-to-end ones on
    the Kafka broker (consumer groups joining make them the longest), the other end-to-end ones
    (integration and interoperability, or a test marked slow), then those that train a tiny
    model, drive the browser or run a contract, then the rest. Under pytest-xdist the long ones
    start while the short ones are left to fill the workers at the end, rather than one long
    module starting last while the other workers sit idle."""
    rank: dict[str, int] = {}
    builds: dict[str, str] = {}  # trained model -> the first module that uses it
    for item in items:
        for model in TRAINED_MODELS & set(getattr(item, "fixturenames", ())):
            builds.setdefault(model, item.nodeid.split("::")[0])
    for module in builds.values():
        rank[module] = -1  # the models are built while the first long modules run
    for item in items:
        module = item.nodeid.split("::")[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        end_to_end = item.get_closest_marker("slow") or module.startswith(END_TO_END)
        if end_to_end and ("tansu" in fixtures or "kafka" in item.nodeid):  # [kafka_redis] too
            here = 0
        elif end_to_end:
            here = 1
        elif TRAINED_MODELS & fixtures or module.startswith(("tests/browser/", "tests/contract/")):
            here = 2
        else:
            here = 3
        rank[module] = min(rank.get(module, 3), here)
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
