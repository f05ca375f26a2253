"""A Kafka replay never returns a short result: a broker gone mid-replay is BusUnavailable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.bus.base import BusUnavailable
from pipeline.bus.kafka import KafkaBus
from tests.services import Tansu


@pytest.mark.slow
def test_a_broker_gone_during_a_replay_raises_instead_of_ending_short(tmp_path: Path) -> None:
    broker = Tansu(tmp_path)
    try:
        bus = KafkaBus(broker.bootstrap, bootstrap_timeout_ms=2_000)
        bus.replay_stall_s = 1.0
        bus.ensure_topics(["replay.gone"], 1)
        producer = bus.producer()
        for n in range(3000):  # ~30 MB, incompressible: far more than one fetch
            producer.publish("replay.gone", "k", b"%06d" % n + os.urandom(10_000))
        producer.close()
        replay = bus.replay(["replay.gone"])
        assert replay.total == 3000
        records = iter(replay)
        assert next(records).offset == 0
        broker.stop()
        with pytest.raises(BusUnavailable):
            for _ in records:
                pass
    finally:
        if broker.proc.poll() is None:
            broker.stop()
