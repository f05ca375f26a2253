"""The scorer's campaign index: pivot-language texts, cluster updates, replays, decoding."""

from __future__ import annotations

import json

from pipeline.config import Settings
from pipeline.policy import load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    ContributionTranslated,
    Translation,
)
from pipeline.workers.scorer import ScorerStage
from tests.conftest import REPO, contribution
from tests.unit.test_scoring_flow import identified

CAMPAIGN = [
    json.loads(line)
    for line in (REPO / "tests/data/campaign_multilingual.jsonl").read_text().splitlines()
]
SPANISH = CAMPAIGN[0]["body"]
# Spanish as a machine would write it from the other languages (Apertium's output, kept).
FROM_OTHERS = [
    "Paremos la nueva autoestrada a través de las zonas húmedas de Doñana: protejamos el agua, "
    "las aves y los agricultores que dependen de ellas. Firma con nosotros y dice no a este "
    "proyecto.",
    "Paramos la nueva autopista a través las zonas húmedas de Doñana: protegemos el agua, las "
    "aves y los agricultores que dependen. Firma con nosotros y de' no a este proyecto.",
    "Arrestemos la nueva autopista a través de las zonas húmedas de Doñana : protejamos el agua, "
    "los pájaros y los agricultores que dependen. Firmad con nos y dichas no a este proyecto.",
    "Que paremos la nueva autovía por las zonas húmedas de Doñana: que protejamos el agua, los "
    "pájaros y los granjeros que dependen de ellas. Firman con nuevos y di no este proyecto.",
]


def translated(n: int, source: str, spanish: str, **extra: str) -> ContributionTranslated:
    submitted = ContributionSubmitted(contribution=contribution(n, body=CAMPAIGN[n]["body"]))
    return submitted.derive(
        ContributionTranslated,
        producer="translator",
        source_language=source,
        translations=[
            Translation(field="body", target_language=lang, origin="machine", text=text)
            for lang, text in {"es": spanish, **extra}.items()
        ],
    )


def is_campaign(event: object) -> bool:
    return isinstance(event, ContributionScored) and (event.cluster_id or "").startswith("m-")


def updates(events: list[object]) -> dict[str, tuple[str | None, int]]:
    return {
        e.contribution_id: (e.cluster_id, e.cluster_size)
        for e in events
        if isinstance(e, ContributionScored) and is_campaign(e)
    }


def test_one_message_from_five_languages_is_one_campaign() -> None:
    scorer = ScorerStage(load_policy(), campaign_pivot="es")
    batch: list[object] = [identified(0, SPANISH, "es")]
    batch += [
        translated(n, CAMPAIGN[n]["language"], text) for n, text in enumerate(FROM_OTHERS, start=1)
    ]
    out = scorer.process(batch)
    got = updates(out)
    # The Spanish original is written in the pivot: the flood index's business, not a campaign's.
    assert sorted(got) == [f"decidim-test:c-{n}" for n in range(1, 5)]
    assert len({cluster for cluster, _size in got.values()}) == 1
    assert got["decidim-test:c-4"] == (got["decidim-test:c-1"][0], 4)
    assert str(got["decidim-test:c-1"][0]).startswith("m-")
    again = scorer.process(batch)  # a replay: the same events, the same ids
    assert sorted(e.event_id for e in again if is_campaign(e)) == sorted(
        e.event_id for e in out if is_campaign(e)
    )


def test_no_pivot_no_campaign() -> None:
    scorer = ScorerStage(load_policy())
    out = scorer.process([identified(0, SPANISH, "es"), translated(1, "pt", FROM_OTHERS[0])])
    assert updates(out) == {}


def test_decode_keeps_the_pivot_translation(settings: Settings) -> None:
    scorer = ScorerStage(load_policy(), campaign_pivot="es")
    sent = translated(1, "pt", FROM_OTHERS[0], en="English", fr="Français")
    event = scorer.decode(sent.to_json(), settings)
    assert [t.target_language for t in event.translations] == ["es"]


def test_triage_keeps_a_flood_over_a_campaign_of_the_same_size() -> None:
    from pipeline.workers.triage import TriageStage
    from tests.unit.test_ui_campaigns import member

    source = identified(1, SPANISH, "es")
    flood = member(1, "es", "c-11111111")

    def update(cluster: str, size: int) -> ContributionScored:
        return source.derive(
            ContributionScored,
            producer="scorer",
            part=f"t:{cluster}:{size}",
            scope="cluster",
            cluster_id=cluster,
            cluster_size=size,
        )

    assert TriageStage._scored(flood, update("m-22222222", 5)).cluster_id == "c-11111111"
    assert TriageStage._scored(flood, update("m-22222222", 6)).cluster_id == "m-22222222"
