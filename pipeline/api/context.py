"""What every HTTP route needs: settings, the store, and a thread-safe way to publish events."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pipeline.bus import open_bus
from pipeline.bus.base import Bus, BusUnavailable, Producer
from pipeline.config import Settings
from pipeline.outage import KnownDown
from pipeline.privacy import sealer_for
from pipeline.schemas.envelope import Envelope
from pipeline.store import open_store
from pipeline.store.base import QueueStore


class AppContext:
    """One per server process. Routes run in a thread pool, so publishing is serialised."""

    def __init__(
        self, settings: Settings, *, store: QueueStore | None = None, bus: Bus | None = None
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self.bus = bus if bus is not None else open_bus(settings)
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self.bus_down = KnownDown(settings.backend_down_s)
        self.sealer = sealer_for(settings, self.store)

    def publish(self, events: Sequence[Envelope]) -> None:
        """Publish and flush: when this returns, the broker has acknowledged every event.

        Raises :class:`BusUnavailable` at once while the bus is known down (a publish failed
        less than ``HEMICYCLE_BACKEND_DOWN_S`` ago).
        """
        if not events:
            return
        reason = self.bus_down.reason()
        if reason is not None:
            raise BusUnavailable(f"event bus unreachable: {reason}")
        try:
            self._publish(events)
        except BusUnavailable as exc:
            self.bus_down.trip(exc)
            raise

    def _publish(self, events: Sequence[Envelope]) -> None:
        with self._lock:
            if self._producer is None:
                self._producer = self.bus.producer()
            for event in self.sealer.seal_many(events):
                self._producer.publish(
                    self.settings.topic_of(event.type),
                    event.contribution_id or None,
                    event.to_json(),
                    event.headers(),
                )
            self._producer.flush()

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
        self.store.close()
        self.bus.close()
