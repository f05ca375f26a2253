"""Helper process for the crash test: poll a batch, report it, then wait to be SIGKILLed."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pipeline.bus.base import Bus


def open_bus(spec: dict) -> Bus:
    if spec["kind"] == "kafka":
        from pipeline.bus.kafka import KafkaBus

        return KafkaBus(
            spec["bootstrap"],
            session_timeout_ms=spec["session_timeout_ms"],
            heartbeat_interval_ms=spec["heartbeat_ms"],
        )
    from pipeline.bus.embedded import EmbeddedBus

    return EmbeddedBus(Path(spec["path"]), session_timeout_s=spec["session_timeout_s"])


def main() -> None:
    spec = json.loads(sys.argv[1])
    consumer = open_bus(spec).consumer(spec["group"], spec["topics"])
    records = []
    while not records:
        records = consumer.poll(1000, 1.0)
    print(json.dumps([[r.partition, r.offset] for r in records]), flush=True)
    time.sleep(600)  # never commits: the parent kills us


if __name__ == "__main__":
    main()
