"""Events that can evolve: a newer minor version is read by an older worker, an older major is
upcast, a newer major is refused with a reason; the edge (the input topic) stays strict."""

from __future__ import annotations

import json
from typing import Any

from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    DeadLetter,
    EventDecodeError,
    ModerationDecided,
    Score,
    decode_event,
)
from pipeline.store import open_store
from pipeline.workers.runner import Runner
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution
from tests.unit.test_triage import identified

CID = "decidim-test:c-1"


def newer_minor(event: Any) -> bytes:
    """What a worker of the next minor version writes: new fields, here and inside parts."""
    data = json.loads(event.to_json())
    data["schema_version"] = "1.7"
    data["explanation_model"] = {"name": "shap", "version": 3}
    for score in data.get("scores", []):
        score["calibrated"] = True
    if "contribution" in data:
        data["contribution"]["sentiment"] = "positive"
        data["language"]["script"] = "Latn"
    return json.dumps(data).encode()


def run_triage(settings: Settings, values: list[tuple[str, bytes]]) -> list[DeadLetter]:
    bus = open_bus(settings)
    producer = bus.producer()
    for logical, value in values:
        producer.publish(settings.topic(logical), CID, value)
    producer.close()
    runner = Runner(TriageStage.from_settings(settings, open_store(settings)), bus, settings)
    while runner.step(0.2) or runner.lag():
        pass
    runner.close()
    return [
        decode_event(r.value, expected=(DeadLetter,))
        for r in bus.read(settings.topic("deadletter"))
    ]


def test_a_newer_minor_version_is_read_by_this_worker(settings: Settings) -> None:
    first = identified()
    scored = first.derive(
        ContributionScored,
        producer="scorer",
        scores=[Score(category="toxicity", value=0.99, model="m")],
    )
    letters = run_triage(
        settings, [("identified", newer_minor(first)), ("scored", newer_minor(scored))]
    )
    assert letters == []
    item = open_store(settings).get(CID)
    assert item is not None and item.state == "auto_hidden"
    assert item.scores[-1].value == 0.99


def test_an_older_major_is_upcast_and_a_newer_major_refused(settings: Settings) -> None:
    old = {
        "type": "ModerationDecided",
        "schema_version": 1,  # the first schema wrote integers
        "contribution_id": CID,
        "contribution_version": 1,
        "decision": "reject",
        "moderator": "ana",
        "reason_code": "spam",
        "expected_revision": 4,  # 1.x: a store revision, not comparable any more
    }
    event = decode_event(json.dumps(old))
    assert isinstance(event, ModerationDecided)
    assert (event.schema_version, event.seen_decisions) == ("2.0", None)
    future = dict(old, schema_version="3.0", event_id="7c2d3c1e-5f7a-4d7e-9c3b-1f2e3d4c5b6a")
    letters = run_triage(
        settings,
        [("identified", identified().to_json()), ("decisions", json.dumps(future).encode())],
    )
    [letter] = letters
    assert letter.error_type == "invalid_event"
    assert "ModerationDecided major version 3 is newer than this worker reads" in letter.reason
    assert open_store(settings).get(CID).decisions == []  # type: ignore[union-attr]


def test_the_input_topic_stays_strict_and_names_the_field() -> None:
    data = json.loads(ContributionSubmitted(contribution=contribution(1)).to_json())
    data["priority"] = "high"
    data["contribution"]["mood"] = "angry"
    try:
        decode_event(json.dumps(data))
    except EventDecodeError as exc:
        assert "priority" in exc.reason and "contribution.mood" in exc.reason
    else:
        raise AssertionError("an unknown field on the input topic was accepted")


def test_a_version_that_is_not_one_is_refused_with_a_reason() -> None:
    data = json.loads(identified().to_json())
    data["schema_version"] = "one"
    try:
        decode_event(json.dumps(data))
    except EventDecodeError as exc:
        assert 'schema_version: expected "major.minor"' in exc.reason
    else:
        raise AssertionError("a malformed schema_version was accepted")
