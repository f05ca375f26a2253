"""Event buses: one interface (:mod:`pipeline.bus.base`), embedded and Kafka implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.bus.base import Bus, BusError, Consumer, Producer, Record, TopicPartition

if TYPE_CHECKING:
    from pipeline.config import Settings

__all__ = ["Bus", "BusError", "Consumer", "Producer", "Record", "TopicPartition", "open_bus"]


def open_bus(settings: Settings) -> Bus:
    """The bus named by ``HEMICYCLE_BUS``, with every pipeline topic created."""
    from pipeline.config import TOPICS

    bus: Bus
    if settings.bus == "kafka":
        from pipeline.extras import require

        require("kafka", "HEMICYCLE_BUS=kafka")
        from pipeline.bus.kafka import KafkaBus

        bus = KafkaBus(
            settings.kafka_bootstrap_servers,
            replication_factor=settings.kafka_replication_factor,
            bootstrap_timeout_ms=settings.kafka_bootstrap_timeout_ms,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
            security=settings.kafka_security(),
            compression_type=settings.kafka_compression,
        )
    else:
        from pipeline.bus.embedded import EmbeddedBus

        bus = EmbeddedBus(settings.data_dir / "bus.sqlite3")
    bus.ensure_topics([settings.topic(name) for name in TOPICS], settings.partitions)
    return bus
