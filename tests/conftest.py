"""Shared fixtures: settings in a temporary data dir, and event builders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from pipeline.config import Settings
from tests.services import RedisServer, Tansu

REPO = Path(__file__).resolve().parents[1]

# Property tests draw new cases on a developer's machine; in CI they replay a fixed set, so a
# run never fails on a case no one has seen before.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


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

    return build_tiny_marian(tmp_path_factory.mktemp("marian") / "opus-mt-tiny-en-de")


@pytest.fixture(scope="session")
def argos_package(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`tiny_marian` packaged as a .argosmodel (once per session). Read-only."""
    from tests.translation_models import build_argos_package

    return build_argos_package(tiny_marian, tmp_path_factory.mktemp("argos-package"))


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
