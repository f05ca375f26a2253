"""The scorer decodes only the English pivot text of a ContributionTranslated it needs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from pipeline.bus.embedded import EmbeddedBus
from pipeline.config import TOPICS, Settings
from pipeline.policy import load_policy
from pipeline.schemas import (
    ContributionSubmitted,
    ContributionTranslated,
    EventDecodeError,
    Translation,
    UnavailableTranslation,
)
from pipeline.schemas.envelope import Envelope
from pipeline.workers.runner import Runner
from pipeline.workers.scorer import ScorerStage
from tests.conftest import contribution
from tests.unit.test_scoring_flow import StandInToxicity, identified

EU = ["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr"]
EU += ["hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv"]


def translated(source_language: str) -> ContributionTranslated:
    source = ContributionSubmitted(contribution=contribution(1))
    return source.derive(
        ContributionTranslated,
        producer="translator",
        source_language=source_language,
        translations=[
            Translation(field=field, target_language=lang, origin="machine", text=f"{field} {lang}")
            for lang in EU
            if lang != source_language
            for field in ("title", "body")
        ],
        unavailable=[UnavailableTranslation(target_language="mt", reason="no model")],
    )


def record(event: Any) -> bytes:
    return event.to_json() if hasattr(event, "to_json") else json.dumps(event).encode()


@pytest.fixture
def scorer() -> ScorerStage:
    return ScorerStage(load_policy(), StandInToxicity())  # covers en and fr


def test_an_uncovered_source_keeps_only_its_english_translations(
    scorer: ScorerStage, settings: Settings
) -> None:
    sent = translated("pl")
    event = scorer.decode(record(sent), settings)
    assert isinstance(event, ContributionTranslated)
    assert [(t.field, t.target_language) for t in event.translations] == [
        ("title", "en"),
        ("body", "en"),
    ]
    assert event.unavailable == []
    assert (event.event_id, event.trace) == (sent.event_id, sent.trace)
    assert scorer._english(event) == "title en\nbody en"


def test_a_covered_source_skips_every_translation(scorer: ScorerStage, settings: Settings) -> None:
    event = scorer.decode(record(translated("fr")), settings)
    assert isinstance(event, ContributionTranslated)
    assert event.translations == []
    assert scorer.process([event]) == []


def test_without_a_model_no_translation_is_kept(settings: Settings) -> None:
    event = ScorerStage(load_policy()).decode(record(translated("pl")), settings)
    assert event.translations == []


def test_invalid_records_still_fail_with_a_reason(scorer: ScorerStage, settings: Settings) -> None:
    doc = json.loads(record(translated("pl")))
    broken_english = json.loads(json.dumps(doc))
    next(t for t in broken_english["translations"] if t["target_language"] == "en")["field"] = 7
    with pytest.raises(EventDecodeError, match="translations"):
        scorer.decode(record(broken_english), settings)
    del doc["source_language"]
    with pytest.raises(EventDecodeError, match="source_language"):
        scorer.decode(record(doc), settings)
    with pytest.raises(EventDecodeError, match="JSON"):
        scorer.decode(b'{"type": "ContributionTranslated", ', settings)
    with pytest.raises(EventDecodeError):
        scorer.decode(
            record({**doc, "type": "ContributionTranslated", "translations": 5}), settings
        )


def test_a_foreign_translation_that_is_dropped_is_not_validated(
    scorer: ScorerStage, settings: Settings
) -> None:
    doc = json.loads(record(translated("pl")))
    next(t for t in doc["translations"] if t["target_language"] == "de")["text"] = None
    assert len(scorer.decode(record(doc), settings).translations) == 2


def test_other_events_decode_as_every_stage_does(scorer: ScorerStage, settings: Settings) -> None:
    event = identified(2, "A text that mentions a ContributionTranslated event.", "en")
    assert scorer.decode(record(event), settings) == event
    with pytest.raises(EventDecodeError, match="not accepted here"):
        scorer.decode(record(ContributionSubmitted(contribution=contribution(3))), settings)
    with pytest.raises(EventDecodeError, match="exceeds the limit"):
        scorer.decode(b" " * (settings.max_event_bytes + 1), settings)


class RecordingScorer(ScorerStage):
    def __init__(self) -> None:
        super().__init__(load_policy(), StandInToxicity())
        self.seen: list[Any] = []

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        self.seen.extend(events)
        return super().process(events)


def test_the_runner_decodes_with_the_stage(settings: Settings) -> None:
    bus = EmbeddedBus(settings.data_dir / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    producer = bus.producer()
    sent = translated("pl")
    producer.publish(settings.topic("translated"), sent.contribution_id, sent.to_json())
    producer.flush()
    scorer = RecordingScorer()
    runner = Runner(scorer, bus, settings)
    handled = sum(runner.step(0.5) for _ in range(3))
    runner.close()
    assert handled == 1
    assert [len(e.translations) for e in scorer.seen] == [2]
    assert runner.stats.outputs == 1  # scored on its English translation
