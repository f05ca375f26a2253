"""The langid stage: the memo of results, one detector call per poll, the direct decoder."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.models.langid import LanguageDetector, LanguageGuess
from pipeline.schemas import (
    ContributionSubmitted,
    EventDecodeError,
    LanguageIdentified,
    Trace,
    decode_event,
)
from pipeline.workers.langid import LangidStage, language_result
from pipeline.workers.langid_cache import INLINE_KEY_CHARS, ResultCache


class CountingDetector(LanguageDetector):
    """The real detector (fastText and rules, no lingua), counting what it is asked."""

    def __init__(self) -> None:
        super().__init__(second_opinion=False)
        self.calls: list[list[str]] = []

    def detect_many(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[LanguageGuess]:
        self.calls.append(list(texts))
        return super().detect_many(texts, hints)


@pytest.fixture(scope="module")
def detector() -> CountingDetector:
    return CountingDetector()


def submitted(n: int, body: str, hint: str | None = None) -> ContributionSubmitted:
    return ContributionSubmitted(
        contribution={
            "id": f"c-{n}",
            "platform": "test",
            "space": "s",
            "kind": "comment",
            "author": "a",
            "body": body,
            "created_at": datetime(2026, 11, 20, tzinfo=UTC),
            "locale_hint": hint,
        }
    )


GERMAN = "Die Bürgerinnen und Bürger sollen über den Haushalt der Stadt mitentscheiden."
FRENCH = "Les citoyens doivent pouvoir décider ensemble du budget de leur commune."


def test_repeated_texts_are_identified_once_and_answered_alike(
    detector: CountingDetector,
) -> None:
    detector.calls.clear()
    stage = LangidStage(detector)
    first = stage.process([submitted(1, GERMAN), submitted(2, FRENCH), submitted(3, GERMAN)])
    second = stage.process([submitted(4, FRENCH), submitted(5, GERMAN, hint="de")])
    assert detector.calls == [[GERMAN, FRENCH], [GERMAN]]  # the hint is part of the key
    langs = [e.language.lang for e in first + second]
    assert langs == ["de", "fr", "de", "fr", "de"]
    assert first[0].language == first[2].language == detector_result(detector, GERMAN)
    assert stage.cache.hits == 1  # French in the second poll; in-poll repeats are not hits


def detector_result(detector: LanguageDetector, text: str) -> object:
    return language_result(detector.detect(text))


def test_without_a_memo_every_poll_asks_the_detector(detector: CountingDetector) -> None:
    detector.calls.clear()
    stage = LangidStage(detector, cache_size=0)
    stage.process([submitted(1, GERMAN), submitted(2, GERMAN)])
    stage.process([submitted(3, GERMAN)])
    assert detector.calls == [[GERMAN], [GERMAN]]  # repeats inside one poll still go once


def test_the_memo_is_bounded_and_keys_long_texts_by_digest() -> None:
    cache: ResultCache[int] = ResultCache(2)
    cache.put("a", None, 1)
    cache.put("b", None, 2)
    cache.put("c", None, 3)
    assert (cache.get("a", None), cache.get("b", None), cache.get("c", None)) == (None, 2, 3)
    assert len(cache) == 2
    long_a, long_b = "x" * (INLINE_KEY_CHARS + 1), "x" * INLINE_KEY_CHARS + "y"
    cache.put(long_a, "de", 4)
    assert cache.get(long_a, "de") == 4
    assert cache.get(long_b, "de") is None and cache.get(long_a, None) is None
    with pytest.raises(ValueError):
        ResultCache(-1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, max_body_chars=200)


def generic(value: bytes, settings: Settings) -> object:
    return decode_event(
        value,
        expected=(ContributionSubmitted,),
        context=settings.validation_context,
        max_bytes=settings.max_event_bytes,
    )


def test_the_direct_decoder_reads_what_the_generic_one_reads(
    detector: CountingDetector, settings: Settings
) -> None:
    event = submitted(7, GERMAN, hint="de-AT")
    stage = LangidStage(detector)
    assert stage.decode(event.to_json(), settings) == generic(event.to_json(), settings)


def bad_records() -> list[bytes]:
    good = json.loads(submitted(1, GERMAN).to_json())
    other_type = {**good, "type": "ModerationDecided"}
    unknown_field = {**good, "extra": 1}
    long_body = {**good, "contribution": {**good["contribution"], "body": "x" * 201}}
    surrogate = json.dumps(good).replace(GERMAN, "\\ud800 lone").encode()
    newer = {**good, "schema_version": "9.0"}
    return [
        b"not json",
        b"\xff\xfe",
        json.dumps(other_type).encode(),
        json.dumps(unknown_field).encode(),
        json.dumps(long_body).encode(),
        surrogate,
        json.dumps(newer).encode(),
        b"x" * 1_000_000,
    ]


def outcome(decode: Callable[[], object]) -> object:
    try:
        return decode()
    except EventDecodeError as exc:
        return exc.reason


@pytest.mark.parametrize(
    "value", [pytest.param(v, id=f"record-{n}") for n, v in enumerate(bad_records())]
)
def test_the_direct_decoder_agrees_with_the_generic_one_on_odd_records(
    detector: CountingDetector, settings: Settings, value: bytes
) -> None:
    expected = outcome(lambda: generic(value, settings))
    assert outcome(lambda: LangidStage(detector).decode(value, settings)) == expected


def validated_output(stage: LangidStage, event: ContributionSubmitted) -> LanguageIdentified:
    """What the stage wrote before it skipped the second validation: ``derive``."""
    (result,) = stage.identify([(event.contribution.text, event.contribution.locale_hint)])
    return event.derive(
        LanguageIdentified,
        producer=stage.name,
        contribution=event.contribution,
        language=result,
        detector=stage.detector_id,
    )


def test_outputs_are_the_events_derive_validates_byte_for_byte(
    detector: CountingDetector, settings: Settings
) -> None:
    titled = submitted(8, FRENCH).contribution.model_copy(
        update={"title": "Budget participatif", "parent_id": "p-1", "url": "https://x.eu/8"}
    )
    inputs = [
        submitted(1, GERMAN, hint="de-AT"),
        submitted(2, "12345 ?!"),
        submitted(3, "Привет, как дела? Это тест на русском языке."),
        ContributionSubmitted(contribution=titled, trace=Trace(producer="api")),
    ]
    # as the runner hands them over: decoded from the topic
    events = [stage_decode(detector, event, settings) for event in inputs]
    stage = LangidStage(detector)
    for event, output in zip(events, stage.process(events), strict=True):
        expected = validated_output(stage, event)
        assert output == expected.model_copy(update={"occurred_at": output.occurred_at})
        got, want = json.loads(output.to_json()), json.loads(expected.to_json())
        want["occurred_at"] = got["occurred_at"]
        assert (
            output.to_json() == json.dumps(want, separators=(",", ":"), ensure_ascii=False).encode()
        )
        assert output.headers() == expected.headers()
        assert LanguageIdentified.model_validate_json(output.to_json()) == output


def stage_decode(
    detector: CountingDetector, event: ContributionSubmitted, settings: Settings
) -> ContributionSubmitted:
    decoded = LangidStage(detector).decode(event.to_json(), settings)
    assert isinstance(decoded, ContributionSubmitted)
    return decoded


class SeeingStage(LangidStage):
    """The langid stage, keeping what the runner handed it."""

    seen: list[ContributionSubmitted]

    def process(self, events: Sequence[ContributionSubmitted]) -> list[LanguageIdentified]:
        self.seen.extend(events)
        return super().process(events)


def test_the_worker_reads_title_and_body_and_passes_the_sealed_contribution_on(
    detector: CountingDetector, tmp_path: Path
) -> None:
    """Input sealed as the API writes it: the stage sees the body, never the author, and its
    output carries the input's tokens unchanged (a replay writes the same bytes)."""
    from pipeline.bus.embedded import EmbeddedBus
    from pipeline.config import TOPICS
    from pipeline.privacy import sealer_for
    from pipeline.privacy.sealing import is_sealed
    from pipeline.store import open_store
    from pipeline.workers.runner import Runner, StopFlag, run_until

    settings = Settings(data_dir=tmp_path, partitions=1)
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], 1)
    store = open_store(settings)
    events = [submitted(1, GERMAN), submitted(2, FRENCH)]
    sealed = sealer_for(settings, store).seal_many(events)
    producer = bus.producer()
    for event in sealed:
        producer.publish(settings.topic("submitted"), event.contribution_id, event.to_json())
    producer.flush()
    stage = SeeingStage(detector)
    stage.seen = []
    runner = Runner(stage, bus, settings)
    run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)
    runner.close()
    assert [e.contribution.body for e in stage.seen] == [GERMAN, FRENCH]
    assert all(is_sealed(e.contribution.author) for e in stage.seen)
    consumer = bus.consumer("check", [settings.topic("identified")])
    outputs = [LanguageIdentified.model_validate_json(r.value) for r in consumer.poll(10, 1.0)]
    consumer.close()
    assert [o.language.lang for o in outputs] == ["de", "fr"]
    assert [o.contribution for o in outputs] == [e.contribution for e in sealed]
    store.close()
    bus.close()
