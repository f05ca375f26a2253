"""Backends under contract. Each implementation registers a factory here.

A factory fixture returns ``open()`` callables that connect to *one* shared backend instance,
so tests can open several producers/consumers (or processes) against the same log or store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.bus.base import Bus
from pipeline.bus.embedded import EmbeddedBus
from pipeline.store.base import QueueStore
from pipeline.store.embedded import EmbeddedStore

BUS_SESSION_TIMEOUT_S = 1.5


@pytest.fixture(params=["embedded"])
def bus_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Bus]]:
    opened: list[Bus] = []
    path = tmp_path / f"bus-{uuid.uuid4().hex}.sqlite3"

    def open_bus() -> Bus:
        bus = EmbeddedBus(path, session_timeout_s=BUS_SESSION_TIMEOUT_S)
        opened.append(bus)
        return bus

    open_bus.crash_spec = {
        "kind": "embedded",
        "path": str(path),  # type: ignore[attr-defined]
        "session_timeout_s": BUS_SESSION_TIMEOUT_S,
    }
    yield open_bus
    for bus in opened:
        bus.close()


@pytest.fixture(params=["embedded"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueStore]:
    backend = EmbeddedStore(tmp_path / "store.sqlite3")
    yield backend
    backend.close()
