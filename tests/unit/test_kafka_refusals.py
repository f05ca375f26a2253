"""How the Kafka producer reports failures: refusals of a record (by the client's size check or
by the broker's own limits) are :class:`RecordsRefused`; anything else is an outage.

The broker used in the integration tests (Tansu) has no record limit of its own, so the
broker's answers are played here by a stand-in for kafka-python's producer."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from kafka.errors import (
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RecordListTooLargeError,
)

from pipeline.bus import kafka
from pipeline.bus.base import BusUnavailable, RecordsRefused


class Future:
    def __init__(self, error: Exception | None) -> None:
        self.exception = error

    def failed(self) -> bool:
        return self.exception is not None


class BrokerStandIn:
    """Answers by value: over ``max_request_size`` fails in ``send``; ``b:…`` in the future."""

    answers: ClassVar[dict[bytes, Exception]] = {
        b"b:too-large": MessageSizeTooLargeError("broker limit"),
        b"b:batch": RecordListTooLargeError("segment"),
        b"b:leader": NotLeaderForPartitionError("moved"),
        b"b:timeout": KafkaTimeoutError("expired"),
    }

    def __init__(self, **config: Any) -> None:
        self.config = config

    def send(self, topic: str, *, key: Any, value: bytes, headers: Any) -> Future:
        if len(value) > self.config["max_request_size"]:
            raise MessageSizeTooLargeError(f"The message is {len(value)} bytes")
        return Future(self.answers.get(value))

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> kafka.KafkaProducerAdapter:
    monkeypatch.setattr(kafka, "KafkaProducer", BrokerStandIn)
    return kafka.KafkaProducerAdapter({}, compression_type="lz4", max_record_bytes=100)


def test_codec_and_limit_reach_the_client(producer: kafka.KafkaProducerAdapter) -> None:
    config = producer._producer.config
    assert (config["compression_type"], config["max_request_size"]) == ("lz4", 100)
    assert (
        kafka.KafkaProducerAdapter({}, compression_type="none")._producer.config["compression_type"]
        is None
    )


def test_records_refused_by_client_or_broker_are_reported_by_position(
    producer: kafka.KafkaProducerAdapter,
) -> None:
    for value in (b"ok", b"x" * 101, b"ok", b"b:too-large", b"b:batch"):
        producer.publish("t", "k", value)
    with pytest.raises(RecordsRefused) as refused:
        producer.flush()
    assert list(refused.value.refused) == [1, 3, 4]
    assert "MessageSizeTooLargeError" in refused.value.refused[1]
    producer.publish("t", "k", b"x" * 101)  # positions restart after each flush
    with pytest.raises(RecordsRefused) as again:
        producer.flush()
    assert list(again.value.refused) == [0]
    producer.publish("t", "k", b"ok")
    producer.flush()


@pytest.mark.parametrize("answer", [b"b:leader", b"b:timeout"])
def test_an_unacknowledged_record_is_an_outage_even_beside_a_refusal(
    producer: kafka.KafkaProducerAdapter, answer: bytes
) -> None:
    producer.publish("t", "k", b"x" * 101)
    producer.publish("t", "k", answer)
    with pytest.raises(BusUnavailable):
        producer.flush()


def test_an_unknown_codec_is_a_configuration_error() -> None:
    with pytest.raises(kafka.BusConfigError):
        kafka.KafkaBus("localhost:9092", compression_type="brotli")
