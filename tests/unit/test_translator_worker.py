"""The translator worker's own logic with a stand-in backend: routes, memory, cache, edits.

Real models (a tiny MarianMT and its CTranslate2/argos conversion, trained at test time)
are exercised in tests/unit/test_translate_backends.py and tests/integration.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.models.translation.base import ModelInfo
from pipeline.schemas import (
    ContributionSubmitted,
    ContributionTranslated,
    LanguageIdentified,
    LanguageResult,
    TranslationCorrected,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers import translator
from pipeline.workers.translator import TranslatorStage
from tests.conftest import contribution


class StandIn:
    """Marks each segment with its pair, so routes are visible in the output."""

    device = "cpu"

    def __init__(self, info: ModelInfo, calls: list[tuple[str, int]]) -> None:
        self.info = info
        self.calls = calls

    def count_tokens(self, text: str, source: str) -> int:
        return len(text.split())

    def translate(self, items: Sequence[tuple[str, str, str]]) -> list[str]:
        self.calls.append((self.info.model_id, len(items)))
        return [f"<{s}>{t}: {text}" for text, s, t in items]


def info(model_id: str, *pairs: tuple[str, str]) -> ModelInfo:
    return ModelInfo(
        engine="argos",
        model_id=model_id,
        path=Path("/nonexistent"),
        pairs=frozenset(pairs),
        multi_target=False,
        size_bytes=1,
    )


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TranslatorStage:
    models = [
        info("de-en", ("de", "en")),
        info("en-fr", ("en", "fr")),
        info("de-fr", ("de", "fr")),
        info("en-de", ("en", "de")),
        info("pl-en", ("pl", "en")),
    ]
    stage = TranslatorStage(
        EmbeddedStore(tmp_path / "s.sqlite3"), models, ["en", "de", "fr", "pl", "ga"]
    )
    stage.calls = []  # type: ignore[attr-defined]
    monkeypatch.setattr(stage, "backend", lambda i: StandIn(i, stage.calls))  # type: ignore[attr-defined]
    return stage


def identified(
    n: int, body: str, lang: str, version: int = 1, title: str | None = None
) -> LanguageIdentified:
    source = ContributionSubmitted(
        contribution=contribution(n, body=body, version=version, title=title)
    )
    return source.derive(
        LanguageIdentified,
        producer="langid",
        contribution=source.contribution,
        language=LanguageResult(lang=lang, confidence=1.0, reliable=True, method="t"),
        detector="t",
    )


def by_target(events: list[Any]) -> dict[str, Any]:
    out = {}
    for event in events:
        assert isinstance(event, ContributionTranslated)
        for t in event.translations:
            out[(t.target_language, t.field)] = t
        for u in event.unavailable:
            out[(u.target_language, "unavailable")] = u
    return out


def test_direct_pivot_and_unavailable_routes(stage: TranslatorStage) -> None:
    events = stage.process([identified(1, "Mehr Züge. Weniger Staus.", "de", title="Züge")])
    got = by_target(events)
    assert got[("fr", "body")].text == "<de>fr: Mehr Züge. <de>fr: Weniger Staus."
    assert got[("fr", "body")].route == ["de", "fr"]
    assert got[("en", "title")].text == "<de>en: Züge"
    assert got[("pl", "unavailable")].reason == "no model for de→pl"  # nothing writes Polish
    assert got[("ga", "unavailable")].reason.startswith("no model for de→ga")
    assert ("de", "body") not in got  # never into the source language
    pl = by_target(stage.process([identified(2, "Więcej pociągów.", "pl")]))
    assert pl[("fr", "body")].route == ["pl", "en", "fr"]
    assert pl[("fr", "body")].text == "<en>fr: <pl>en: Więcej pociągów."
    assert pl[("fr", "body")].model_id == "pl-en+en-fr"
    assert all(t.origin == "machine" for k, t in pl.items() if k[1] != "unavailable")


def test_paragraphs_survive_and_one_event_per_contribution(stage: TranslatorStage) -> None:
    one = identified(3, "Erster Absatz.\n\nZweiter Absatz.", "de", title="Absätze")
    events = stage.process([one, identified(4, "Więcej pociągów.", "pl")])
    assert [e.contribution_id for e in events] == [one.contribution_id, "decidim-test:c-4"]
    first = events[0]
    assert (
        by_target([first])[("en", "body")].text
        == "<de>en: Erster Absatz.\n\n<de>en: Zweiter Absatz."
    )
    assert [(t.target_language, t.field) for t in first.translations] == [
        ("en", "title"),
        ("en", "body"),
        ("fr", "title"),
        ("fr", "body"),
    ]
    assert [u.target_language for u in first.unavailable] == ["pl", "ga"]
    again = stage.process([one])
    assert [e.event_id for e in again] == [first.event_id]  # a replay: the same id


def test_identical_segments_are_translated_once_across_a_campaign(stage: TranslatorStage) -> None:
    flood = [identified(10 + n, "Stoppt die Umgehungsstraße!", "de") for n in range(20)]
    stage.process(flood)
    assert sum(n for model, n in stage.calls if model == "de-en") == 1
    stage.calls.clear()  # type: ignore[attr-defined]
    stage.process([identified(99, "Stoppt die Umgehungsstraße!", "de")])
    assert stage.calls == []  # all from the cache


def test_an_edit_retranslates_only_changed_segments(stage: TranslatorStage) -> None:
    stage.process([identified(4, "Satz eins. Satz zwei. Satz drei.", "de")])
    stage.calls.clear()  # type: ignore[attr-defined]
    events = stage.process(
        [identified(4, "Satz eins. Satz ZWEI geändert. Satz drei.", "de", version=2)]
    )
    assert stage.calls == [("de-en", 1), ("de-fr", 1)]
    assert events[0].contribution_version == 2


def test_a_correction_is_reused_as_memory(stage: TranslatorStage) -> None:
    first = identified(5, "Guten Morgen. Wie geht es?", "de")
    stage.process([first])
    correction = first.derive(
        TranslationCorrected,
        producer="ui",
        field="body",
        target_language="en",
        text="Good morning. How are you?",
        translator="t-1",
        previous_text="<de>en: Guten Morgen. <de>en: Wie geht es?",
        source_language="de",
        source_text="Guten Morgen. Wie geht es?",
    )
    stage.process([correction])
    again = by_target(stage.process([identified(6, "Guten Morgen. Wie geht es?", "de")]))
    assert again[("en", "body")].text == "Good morning. How are you?"
    assert again[("en", "body")].origin == "memory"
    partly = by_target(stage.process([identified(7, "Guten Morgen. Bis bald.", "de")]))
    assert partly[("en", "body")].text == "Good morning. <de>en: Bis bald."
    assert partly[("en", "body")].origin == "machine"


def test_unknown_source_language_is_skipped(stage: TranslatorStage) -> None:
    event = identified(8, "12345", "de")
    unknown = event.model_copy(
        update={
            "language": LanguageResult(
                lang=None, confidence=0.0, reliable=False, method="t", reason="no_letters"
            )
        }
    )
    assert stage.process([unknown]) == []


def test_a_fifty_thousand_character_contribution_is_split_and_reassembled(
    stage: TranslatorStage,
) -> None:
    sentence = "Die Stadt braucht mehr Radwege und sichere Kreuzungen für Kinder. "
    paragraph = sentence * 10
    body = ("\n\n".join([paragraph.strip()] * 200))[:50_000].rstrip()
    events = stage.process([identified(9, body, "de")])
    english = by_target(events)[("en", "body")].text
    assert english.count("\n\n") == body.count("\n\n")  # every paragraph break kept
    assert english.count("<de>en: ") >= body.count(". ")  # every sentence translated
    assert sum(n for model, n in stage.calls if model == "de-en") <= 3  # identical ones once


class CountingStore(EmbeddedStore):
    """Counts the cache calls that reach the store."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[str] = []

    def cache_get(self, namespace: str, key: str) -> str | None:
        self.calls.append("get")
        return super().cache_get(namespace, key)

    def cache_set(self, namespace: str, key: str, value: str, ttl_s: float | None = None) -> None:
        self.calls.append("set")
        super().cache_set(namespace, key, value, ttl_s)

    def cache_get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, str]:
        self.calls.append("get_many")
        return super().cache_get_many(namespace, keys)

    def cache_set_many(
        self, namespace: str, items: Mapping[str, str], ttl_s: float | None = None
    ) -> None:
        self.calls.append("set_many")
        super().cache_set_many(namespace, items, ttl_s)


def test_a_poll_batch_costs_a_few_multi_gets_and_segments_each_field_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = ["en", "fr", "it", "es", "nl"]
    models = [info(f"de-{t}", ("de", t)) for t in targets] + [
        info("pl-en", ("pl", "en")),
        *(info(f"en-{t}", ("en", t)) for t in targets[1:]),
    ]
    store = CountingStore(tmp_path / "s.sqlite3")
    stage = TranslatorStage(store, models, targets)
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(stage, "backend", lambda i: StandIn(i, calls))
    segmented: list[str] = []
    real_segment = translator.segment

    def counting_segment(text: str, language: str | None, **kw: Any) -> Any:
        segmented.append(text)
        return real_segment(text, language, **kw)

    monkeypatch.setattr(translator, "segment", counting_segment)
    batch = [
        identified(n, f"Satz {n}. Noch ein Satz.", "de", title=f"Titel {n}") for n in range(10)
    ] + [identified(10 + n, f"Więcej pociągów. Mniej korków {n}.", "pl") for n in range(10)]
    events = stage.process(batch)
    assert len(events) == 20
    assert len(segmented) == 30  # every field once, not once per target
    assert "get" not in store.calls and "set" not in store.calls
    # memory once; the cache once per leg (direct or into English, then out of English)
    assert store.calls.count("get_many") == 3
    assert store.calls.count("set_many") == len(calls)  # one per model batch
    pl = by_target([events[-1]])
    assert (
        pl[("fr", "body")].text
        == "<en>fr: <pl>en: Więcej pociągów. <en>fr: <pl>en: Mniej korków 9."
    )
    store.calls.clear()
    calls.clear()
    stage.process(batch)
    assert calls == []  # all from the cache
    assert store.calls == ["get_many", "get_many", "get_many"]


@pytest.fixture
def wide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TranslatorStage:
    """German into eight languages, two of them without a model."""
    targets = ["en", "fr", "it", "es", "nl", "sv", "ga", "mt"]
    models = [info(f"de-{t}", ("de", t)) for t in targets[:6]]
    stage = TranslatorStage(EmbeddedStore(tmp_path / "s.sqlite3"), models, ["de", *targets])
    monkeypatch.setattr(stage, "backend", lambda i: StandIn(i, []))
    return stage


def test_an_event_over_the_record_limit_is_split_by_whole_languages(
    wide: TranslatorStage,
) -> None:
    body = " ".join(f"Satz Nummer {n} über den Nahverkehr." for n in range(60))
    event = identified(1, body, "de", title="Nahverkehr")
    [whole] = wide.process([event])
    assert len(whole.translations) == 12 and len(whole.unavailable) == 2
    wide.max_event_bytes = len(whole.to_json()) * 2 // 5  # room for two languages a part
    parts = wide.process([event])
    assert all(len(p.to_json()) <= wide.max_event_bytes for p in parts)
    sizes = [len(p.to_json()) for p in parts]
    assert len(parts) == 3
    # as few as needed: no two neighbours would fit together
    assert all(a + b > wide.max_event_bytes for a, b in itertools.pairwise(sizes))
    assert len({p.event_id for p in parts}) == len(parts)
    assert whole.event_id not in {p.event_id for p in parts}
    languages = [[t.target_language for t in p.translations] for p in parts]
    seen = [lang for langs in languages for lang in dict.fromkeys(langs)]
    assert seen == ["en", "fr", "it", "es", "nl", "sv"]  # each language whole, in one part
    assert by_target(parts) == by_target([whole])
    assert [u.target_language for p in parts for u in p.unavailable] == ["ga", "mt"]
    assert all(p.source_language == "de" and p.contribution_version == 1 for p in parts)
    assert [p.event_id for p in wide.process([event])] == [p.event_id for p in parts]


def test_an_event_under_the_limit_is_not_split(wide: TranslatorStage) -> None:
    event = identified(2, "Kurzer Satz.", "de")
    [whole] = wide.process([event])
    wide.max_event_bytes = len(whole.to_json())
    assert [e.event_id for e in wide.process([event])] == [whole.event_id]


def test_the_cheap_size_bound_is_never_below_the_real_size(wide: TranslatorStage) -> None:
    for body in ("Kurzer Satz.", '\x01\x02"\\ ' * 500, "Größe 😀 ü ß. " * 300):
        [event] = wide.process([identified(3, body, "de", title="\x7f\u2028")])
        assert translator._size_bound(event) >= len(event.to_json())
