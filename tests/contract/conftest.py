"""Backends under contract. Each implementation registers a factory here.

A bus factory returns ``open()`` callables that connect to *one* shared backend instance, so
tests can open several producers/consumers (or processes) against the same log. The Kafka
variant runs against a real Kafka-protocol broker (Tansu), the Redis variant against a real
``redis-server``; each test gets its own topics or key prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.bus.base import Bus
from pipeline.bus.embedded import EmbeddedBus
from pipeline.bus.kafka import KafkaBus
from pipeline.store.base import QueueStore
from pipeline.store.embedded import EmbeddedStore
from pipeline.store.redis import RedisStore

# Short group timeouts: Tansu waits about half the session timeout on every (re)join.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_MS = 1_000


@pytest.fixture(params=["embedded", "kafka"])
def bus_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Bus]]:
    opened: list[Bus] = []
    if request.param == "embedded":
        path = tmp_path / "bus.sqlite3"
        spec = {
            "kind": "embedded",
            "path": str(path),
            "session_timeout_s": SESSION_TIMEOUT_MS / 1000,
        }

        def make() -> Bus:
            return EmbeddedBus(path, session_timeout_s=SESSION_TIMEOUT_MS / 1000)
    else:
        broker = request.getfixturevalue("tansu")
        spec = {
            "kind": "kafka",
            "bootstrap": broker.bootstrap,
            "session_timeout_ms": SESSION_TIMEOUT_MS,
            "heartbeat_ms": HEARTBEAT_MS,
        }

        def make() -> Bus:
            return KafkaBus(
                broker.bootstrap,
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=HEARTBEAT_MS,
            )

    def open_bus() -> Bus:
        bus = make()
        opened.append(bus)
        return bus

    open_bus.crash_spec = spec  # type: ignore[attr-defined]
    yield open_bus
    for bus in opened:
        bus.close()


@pytest.fixture(params=["embedded", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueStore]:
    backend: QueueStore
    if request.param == "embedded":
        backend = EmbeddedStore(tmp_path / "store.sqlite3")
    else:
        server = request.getfixturevalue("redis_server")
        backend = RedisStore(server.url, key_prefix=f"test-{uuid.uuid4().hex[:8]}:")
    yield backend
    backend.close()
