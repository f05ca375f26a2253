"""Every Kafka codec, both ways, with a non-Python client: librdkafka (the `confluent-kafka`
wheel, as Ruby, Go and Node clients use it) writes gzip, snappy, lz4 and zstd records that our
consumers and workers read; our producer writes each codec and librdkafka reads it back."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from confluent_kafka import Consumer as RdKafkaConsumer
from confluent_kafka import Producer as RdKafkaProducer

from pipeline.bus.base import total_lag
from pipeline.bus.kafka import KafkaBus
from pipeline.schemas import ContributionSubmitted, DeadLetter, LanguageIdentified
from tests.conftest import contribution
from tests.integration.conftest import hemicycle
from tests.integration.test_big_records import settings_of
from tests.integration.test_kafka_redis import open_bus, topic
from tests.services import Tansu

CODECS = ("gzip", "snappy", "lz4", "zstd")
PER_CODEC = 40


def values(codec: str) -> list[bytes]:
    body = "We need safe cycle lanes, more trees and benches along the river, please."
    return [
        ContributionSubmitted(
            contribution=contribution(n, id=f"{codec}-{n}", body=f"{body} ({codec} {n})")
        ).to_json()
        for n in range(PER_CODEC)
    ]


def rdkafka_produce(bootstrap: str, name: str, codec: str, records: list[bytes]) -> None:
    producer = RdKafkaProducer(
        {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20}
    )
    for n, value in enumerate(records):
        producer.produce(name, key=f"{codec}-{n}".encode(), value=value)
    assert producer.flush(30) == 0


def rdkafka_read(bootstrap: str, name: str, expected: int) -> list[bytes]:
    consumer = RdKafkaConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rd-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    # Assigned, not subscribed: no group join to wait for.
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in range(3)])
    got: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(got) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        assert message.error() is None, message.error()
        got.append(message.value())
    consumer.close()
    return got


@pytest.mark.parametrize("codec", CODECS)
def test_records_from_librdkafka_in_every_codec_reach_our_consumer(
    tansu: Tansu, codec: str
) -> None:
    bus = KafkaBus(tansu.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    name = f"codec.{codec}.{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([name], 3)
    sent = values(codec)
    rdkafka_produce(tansu.bootstrap, name, codec, sent)
    consumer = bus.consumer("codec-reader", [name])
    got: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(got) < len(sent) and time.monotonic() < deadline:
        got.extend(record.value for record in consumer.poll(500, 0.5))
    consumer.close()
    assert sorted(got) == sorted(sent)
    assert sorted(record.value for record in bus.replay([name])) == sorted(sent)
    bus.close()


@pytest.mark.parametrize("codec", [*CODECS, "none"])
def test_our_producer_writes_every_codec_and_librdkafka_reads_it(tansu: Tansu, codec: str) -> None:
    bus = KafkaBus(tansu.bootstrap, compression_type=codec)
    name = f"ours.{codec}.{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([name], 3)
    sent = values(codec)
    producer = bus.producer()
    for n, value in enumerate(sent):
        producer.publish(name, f"{codec}-{n}", value, {"type": "ContributionSubmitted"})
    producer.close()
    assert sorted(rdkafka_read(tansu.bootstrap, name, len(sent))) == sorted(sent)
    assert sorted(record.value for record in bus.replay([name])) == sorted(sent)
    bus.close()


@pytest.mark.slow
def test_the_language_worker_reads_input_written_in_every_codec(
    kafka_redis_env: dict[str, str],
) -> None:
    env = kafka_redis_env
    bus = open_bus(env)
    submitted = topic(env, "submitted")
    for codec in CODECS:
        rdkafka_produce(env["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"], submitted, codec, values(codec))

    hemicycle(env, "run", "--worker", "langid", "--until-idle")

    assert [
        DeadLetter.model_validate_json(r.value) for r in bus.read(topic(env, "deadletter"))
    ] == []
    identified = {
        LanguageIdentified.model_validate_json(r.value).contribution_id
        for r in bus.read(topic(env, "identified"))
    }
    assert identified == {f"decidim-test:{codec}-{n}" for codec in CODECS for n in range(PER_CODEC)}
    group = f"{settings_of(env).topic_prefix}langid"
    assert total_lag(bus.lag(group, [submitted])) == 0
    bus.close()
