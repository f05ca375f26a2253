"""A crash between triage's store write and the publish of its outcome loses nothing.

The store write is done when the bus fails (a SIGKILL at that point looks the same to the
next process: saved, not published, not committed). The restarted worker replays the batch,
finds every event applied, and emits what the stored state owes: the outcome, once.
"""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.bus import open_bus
from pipeline.bus.base import BusUnavailable
from pipeline.config import Settings
from pipeline.schemas import (
    ContributionScored,
    ModerationDecided,
    ModerationOutcome,
    Score,
    decode_event,
)
from pipeline.store import open_store
from pipeline.workers.runner import Runner
from pipeline.workers.triage import TriageStage, auto_outcome_id
from tests.unit.test_triage import identified

CID = "decidim-test:c-1"


def results() -> list[Any]:
    first = identified()
    scored = first.derive(
        ContributionScored,
        producer="scorer",
        scores=[Score(category="toxicity", value=0.99, model="m")],
    )
    return [first, scored]


def publish(settings: Settings, events: list[Any]) -> None:
    producer = open_bus(settings).producer()
    for event in events:
        producer.publish(
            settings.topic_of(event.type), event.contribution_id, event.to_json(), event.headers()
        )
    producer.close()


def outcomes(settings: Settings) -> list[ModerationOutcome]:
    records = open_bus(settings).read(settings.topic("outcomes"))
    return [decode_event(r.value, expected=(ModerationOutcome,)) for r in records]


def crash_after_the_store_write(settings: Settings) -> None:
    """One triage batch whose publish fails after the store write: the process dies."""
    runner = Runner(
        TriageStage.from_settings(settings, open_store(settings)), open_bus(settings), settings
    )

    def die() -> None:
        raise BusUnavailable("killed between the store write and the publish")

    runner.producer.flush = die  # type: ignore[method-assign]
    with pytest.raises(BusUnavailable):
        while not runner.step(0.5):
            pass
    runner.consumer.close()  # leaves without committing, as a dead process does


def restart(settings: Settings) -> None:
    runner = Runner(
        TriageStage.from_settings(settings, open_store(settings)), open_bus(settings), settings
    )
    while runner.step(0.5) or runner.lag():
        pass
    runner.close()


def test_an_automatic_outcome_survives_a_crash_after_the_save(settings: Settings) -> None:
    publish(settings, results())
    crash_after_the_store_write(settings)
    item = open_store(settings).get(CID)
    assert item is not None and item.state == "auto_hidden"  # saved before the crash
    assert outcomes(settings) == []  # nothing reached the platform
    restart(settings)
    [outcome] = outcomes(settings)
    assert (outcome.outcome, outcome.automatic) == ("hidden", True)
    assert outcome.event_id == auto_outcome_id(CID, 1, "hidden")


def test_a_human_outcome_survives_a_crash_after_the_save(settings: Settings) -> None:
    publish(settings, results())
    restart(settings)
    publish(
        settings,
        [
            ModerationDecided(
                contribution_id=CID,
                contribution_version=1,
                decision="approve",
                moderator="ana",
                seen_decisions=0,
            )
        ],
    )
    crash_after_the_store_write(settings)
    assert open_store(settings).get(CID).state == "approved"  # type: ignore[union-attr]
    restart(settings)
    got = [(o.outcome, o.automatic) for o in outcomes(settings)]
    assert got == [("hidden", True), ("approved", False)]
