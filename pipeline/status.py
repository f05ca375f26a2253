"""``hemicycle status``: what is on the bus, how far behind each worker is, what is queued."""

from __future__ import annotations

import json
from typing import Any

from pipeline.bus.base import Bus, total_lag
from pipeline.config import TOPICS, Settings
from pipeline.schemas import DeadLetter
from pipeline.store.base import QueueStore
from pipeline.workers import default_workers, stage_class


def collect_status(
    bus: Bus, store: QueueStore, settings: Settings, *, recent: int = 5
) -> dict[str, Any]:
    counts = bus.topic_counts([settings.topic(name) for name in TOPICS])
    workers = {}
    for name in default_workers(settings):
        topics = [settings.topic(t) for t in stage_class(name).inputs]
        group = f"{settings.topic_prefix}{name}"
        workers[name] = {"group": group, "inputs": topics, "lag": total_lag(bus.lag(group, topics))}
    dead_topic = settings.topic("deadletter")
    letters = bus.read(dead_topic)[-recent:] if counts.get(dead_topic) else []
    latest = []
    for record in letters:
        letter = DeadLetter.model_validate_json(record.value)
        latest.append(
            {
                "stage": letter.origin.stage,
                "origin": f"{letter.origin.topic}/{letter.origin.partition}@{letter.origin.offset}",
                "reason": letter.reason,
            }
        )
    return {
        "bus": settings.bus,
        "store": settings.store,
        "topics": counts,
        "workers": workers,
        "queue": store.counts(),
        "dead_letters": {"count": counts.get(dead_topic, 0), "latest": latest},
    }


def format_status(status: dict[str, Any]) -> str:
    lines = [f"bus: {status['bus']}   store: {status['store']}", "", "topics (records):"]
    width = max((len(t) for t in status["topics"]), default=10)
    lines += [
        f"  {topic:<{width}}  {count:>8}" for topic, count in sorted(status["topics"].items())
    ]
    lines += ["", "workers (consumer lag):"]
    lines += [
        f"  {name:<8} {info['lag']:>8}   group {info['group']}"
        for name, info in status["workers"].items()
    ]
    lines += ["", "queue:"]
    queue = status["queue"] or {"(empty)": 0}
    lines += [f"  {state:<14} {count:>8}" for state, count in sorted(queue.items())]
    dead = status["dead_letters"]
    lines += ["", f"dead letters: {dead['count']}"]
    lines += [f"  [{d['stage']}] {d['origin']}: {d['reason']}" for d in dead["latest"]]
    return "\n".join(lines)


def status_json(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2, ensure_ascii=False)
