"""Event buses: one interface (:mod:`pipeline.bus.base`), embedded and Kafka implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.bus.base import Bus, BusError, Consumer, Producer, Record, TopicPartition

if TYPE_CHECKING:
    from pipeline.config import Settings

__all__ = ["Bus", "BusError", "Consumer", "Producer", "Record", "TopicPartition", "open_bus"]


def open_bus(settings: Settings) -> Bus:
    """The bus named by ``HEMICYCLE_BUS``, with every pipeline topic created."""
    from pipeline.bus.embedded import EmbeddedBus
    from pipeline.config import TOPICS

    bus: Bus = EmbeddedBus(settings.data_dir / "bus.sqlite3")
    bus.ensure_topics([settings.topic(name) for name in TOPICS], settings.partitions)
    return bus
