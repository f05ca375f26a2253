"""``hemicycle status``: what is on the bus, how far behind each worker is, what is queued.

``events_per_contribution`` is the fan-out: records on every topic except the dead-letter one,
divided by the records on ``contributions.submitted`` (one per submitted contribution version,
so an edit counts as a contribution), in total and per topic. Budget: at most 6 in the steady
state with 24 target languages.
"""

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
        "events_per_contribution": fan_out(counts, settings),
    }


def fan_out(counts: dict[str, int], settings: Settings) -> dict[str, Any]:
    """Records per submitted contribution version, on all topics but dead letters, and per topic."""
    submitted = counts.get(settings.topic("submitted"), 0)
    dead = settings.topic("deadletter")
    topics = {topic: n for topic, n in counts.items() if topic != dead}

    def ratio(n: int) -> float | None:
        return round(n / submitted, 3) if submitted else None

    return {
        "basis": "records on contributions.submitted (one per contribution version)",
        "submitted": submitted,
        "total": ratio(sum(topics.values())),
        "per_topic": {topic: ratio(n) for topic, n in sorted(topics.items())},
    }


def format_status(status: dict[str, Any]) -> str:
    lines = [f"bus: {status['bus']}   store: {status['store']}", "", "topics (records):"]
    width = max((len(t) for t in status["topics"]), default=10)
    lines += [
        f"  {topic:<{width}}  {count:>8}" for topic, count in sorted(status["topics"].items())
    ]
    fan = status.get("events_per_contribution") or {}
    if fan.get("total") is not None:
        lines.append(
            f"  events per submitted contribution: {fan['total']:.2f} (dead letters aside)"
        )
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
