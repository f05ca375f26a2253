"""The queue item is a pure function of the log: any interleaving of the topics (each topic's
order kept, as Kafka keeps it per partition) and any batching give the same item, byte for byte.

This is what makes ``hemicycle rebuild`` reach the live state: live, triage sees the topics
interleaved as the consumer fetched them; a rebuild sees them in another interleaving.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    LanguageIdentified,
    LanguageResult,
    ModerationDecided,
    Score,
    SpamSignal,
    Translation,
    TranslationCorrected,
)
from pipeline.schemas.moderation import (
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    SanctionLifted,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution

CID = "decidim-test:c-1"
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def identified(version: int, minute: float, lang: str = "pl") -> LanguageIdentified:
    source = ContributionSubmitted(
        contribution=contribution(1, version=version, body=f"Tekst wersji {version}.")
    )
    return source.derive(
        LanguageIdentified,
        producer="langid",
        occurred_at=at(minute),
        contribution=source.contribution,
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="t"),
        detector="t",
    )


def topics() -> dict[str, list[Any]]:
    """Every topic's events about one contribution, each list in its topic's order."""
    v1, v2 = identified(1, 0), identified(2, 30)
    spam = Score(category="spam", value=0.2, model="signals")
    scored = [
        v1.derive(
            ContributionScored,
            producer="scorer",
            occurred_at=at(1),
            scores=[spam],
            toxicity_available=False,
            unavailable_reason="pl not covered",
            spam_score=0.2,
            spam_signals=[SpamSignal(name="links", value=1, explanation="1 link")],
            cluster_id="k-1",
            cluster_size=2,
        ),
        v1.derive(
            ContributionScored,
            producer="scorer",
            part="t",
            occurred_at=at(3),
            scope="translation",
            scores=[Score(category="toxicity", value=0.97, model="m", text_source="translation")],
        ),
        v1.derive(
            ContributionScored,
            producer="scorer",
            part="cluster",
            occurred_at=at(4),
            scope="cluster",
            cluster_id="k-1",
            cluster_size=5,
        ),
        v2.derive(
            ContributionScored,
            producer="scorer",
            occurred_at=at(31),
            scores=[Score(category="toxicity", value=0.1, model="m"), spam],
            spam_score=0.2,
        ),
    ]

    def machine(event: LanguageIdentified, minute: float, *langs: str) -> ContributionTranslated:
        return event.derive(
            ContributionTranslated,
            producer="translator",
            occurred_at=at(minute),
            source_language="pl",
            translations=[
                Translation(
                    field="body",
                    target_language=lang,
                    text=f"[{lang} v{event.contribution_version}]",
                    origin="machine",
                    route=["pl", "en", lang] if lang != "en" else ["pl", "en"],
                )
                for lang in langs
            ],
        )

    translated = [machine(v1, 2, "en", "de"), machine(v2, 32, "en", "de", "fr")]

    def corrected(version: int, minute: float, text: str) -> TranslationCorrected:
        return TranslationCorrected(
            contribution_id=CID,
            contribution_version=version,
            occurred_at=at(minute),
            field="body",
            target_language="de",
            text=text,
            translator="tina",
        )

    corrections = [corrected(1, 5, "Deutsch v1"), corrected(2, 33, "Deutsch v2")]

    def decided(minute: float, decision: str, by: str, version: int, seen: int) -> Any:
        return ModerationDecided(
            contribution_id=CID,
            contribution_version=version,
            occurred_at=at(minute),
            decision=decision,  # type: ignore[arg-type]
            moderator=by,
            reason_code="spam" if decision == "reject" else None,
            seen_decisions=seen,
        )

    sanction = AuthorSanctioned(
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(9),
        platform="decidim-test",
        author="u-1",
        action="premoderate",
        moderator="ana",
        statement="Repeated spam.",
    )
    decisions = [
        decided(6, "reject", "ana", 1, 0),
        decided(7, "approve", "ben", 1, 0),  # a stale view: a conflict
        sanction,
        decided(34, "escalate", "ana", 2, 1),
        SanctionLifted(
            contribution_id=CID,
            contribution_version=2,
            occurred_at=at(38),
            sanction_id=str(sanction.event_id),
            moderator="ben",
            reason="Served.",
        ),
        AppealFiled(
            contribution_id=CID,
            contribution_version=2,
            occurred_at=at(39),
            platform="decidim-test",
            appellant="u-1",
            statement="It was not spam.",
        ),
    ]

    def reported(minute: float, version: int, reporter: str, reason: str) -> Any:
        return ContributionReported(
            contribution_id=CID,
            contribution_version=version,
            occurred_at=at(minute),
            platform="decidim-test",
            reporter=reporter,
            reason=reason,  # type: ignore[arg-type]
        )

    reports = [
        reported(8, 1, "r-1", "spam"),
        reported(8.5, 1, "r-1", "spam"),  # the same person again: one reporter
        reported(35, 2, "r-2", "offensive"),
        reported(36, 2, "r-3", "spam"),
    ]
    return {
        "identified": [v1, v2],
        "scored": scored,
        "translated": translated,
        "corrections": corrections,
        "decisions": decisions,
        "reports": reports,
    }


def interleave(streams: dict[str, list[Any]], rng: random.Random) -> list[Any]:
    """A random merge keeping each stream's order."""
    queues = {name: list(events) for name, events in streams.items()}
    out: list[Any] = []
    while any(queues.values()):
        name = rng.choice([n for n, q in queues.items() if q])
        out.append(queues[name].pop(0))
    return out


def project(events: list[Any], store: EmbeddedStore, rng: random.Random | None) -> dict[str, Any]:
    triage = TriageStage(store)
    if rng is None:
        for event in events:
            triage.apply(event)
    else:
        while events:
            cut = rng.randint(1, len(events))
            triage.process(events[:cut])
            events = events[cut:]
    item = store.get(CID)
    assert item is not None
    return item.model_dump(mode="json")


def test_the_log_order_gives_the_expected_item(tmp_path: Path) -> None:
    streams = topics()
    in_time = sorted(
        (e for events in streams.values() for e in events), key=lambda e: e.occurred_at
    )
    item = project(in_time, EmbeddedStore(tmp_path / "s.sqlite3"), None)
    assert item["contribution"]["version"] == 2
    assert item["state"] == "escalated"
    assert [(d["by"], d["version"]) for d in item["decisions"]] == [("ana", 1), ("ana", 2)]
    assert [c["by"] for c in item["conflicts"]] == ["ben"]
    assert len(item["reports"]) == 4
    assert len({r["reporter"] for r in item["reports"]}) == 3  # r-1 counted once
    [sanction] = item["sanctions"]
    assert (sanction["action"], sanction["lifted_by"]) == ("premoderate", "ben")
    [appeal] = item["appeals"]
    assert (appeal["against_by"], appeal["result"]) == ("ana", None)  # the escalation
    [statement] = item["statements"]  # ana's rejection of version 1
    assert (statement["restriction"], statement["contribution_version"]) == ("rejected", 1)
    assert statement["superseded"] is False  # ben's approval was a conflict, not a decision
    assert item["revision"] == sum(len(events) for events in streams.values())
    assert item["updated_at"] == at(39).isoformat().replace("+00:00", "Z")
    german = next(t for t in item["translations"] if t["target_language"] == "de")
    assert (german["origin"], german["text"], german["route"]) == (
        "human",
        "Deutsch v2",
        ["pl", "en", "de"],
    )


Streams = dict[str, list[Any]]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Streams, dict[str, Any]]:
    """The topics' events and the item they give when applied in the log's order."""
    streams = topics()
    in_time = sorted(
        (e for events in streams.values() for e in events), key=lambda e: e.occurred_at
    )
    store = EmbeddedStore(tmp_path_factory.mktemp("log") / "a.sqlite3")
    return streams, project(in_time, store, None)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rng=st.randoms(use_true_random=False), retried=st.booleans(), batched=st.booleans())
def test_every_interleaving_and_batching_gives_the_same_item(
    log: tuple[Streams, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
    rng: random.Random,
    retried: bool,
    batched: bool,
) -> None:
    streams, expected = log
    shuffled = interleave(streams, rng)
    if retried:  # a producer's retry wrote some events twice: counted once
        shuffled = [e for event in shuffled for e in [event] * rng.choice((1, 1, 2))]
    store = EmbeddedStore(tmp_path_factory.mktemp("interleaved") / "b.sqlite3")
    assert project(shuffled, store, rng if batched else None) == expected
