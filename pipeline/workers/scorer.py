"""scorer: LanguageIdentified / ContributionTranslated → ContributionScored.

* Text in a language the toxicity model covers is scored as written; any other language is
  scored on its English translation when ``ContributionTranslated`` brings one (a second
  event with ``scope="translation"``). Each score records the text and model behind it.
* Spam signals and the flood cluster are computed once per contribution version, on the
  original text; a ``spam`` score (noisy-OR of the signals) joins the toxicity scores.
* When a flood cluster reaches the policy's ``flood_min_size``, every earlier member gets a
  ``scope="cluster"`` update so that the whole flood can be acted on at once.
* Without a configured model, toxicity is recorded as unavailable; spam signals still run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.models.floods import FloodDetector
from pipeline.models.spam import SpamDetector, combine
from pipeline.policy import Policy, load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionTranslated,
    LanguageIdentified,
    Score,
    SpamSignal,
)
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Stage

log = get_logger("scorer")

SPAM_MODEL = "hemicycle-spam-signals"
NO_MODEL = "toxicity model not configured (HEMICYCLE_TOXICITY_CHECKPOINT)"


class ScorerStage(Stage):
    name: ClassVar[str] = "scorer"
    inputs: ClassVar[tuple[str, ...]] = ("identified", "translated")
    accepts: ClassVar[tuple[type, ...]] = (LanguageIdentified, ContributionTranslated)

    def __init__(
        self, policy: Policy, toxicity: Any | None = None, unavailable_reason: str = NO_MODEL
    ) -> None:
        self.policy = policy
        self.toxicity = toxicity
        self.unavailable_reason = unavailable_reason
        self.spam = SpamDetector(policy.spam)
        self.floods = FloodDetector(policy.spam.flood_similarity, window=policy.spam.flood_window)
        self.authors: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore | None = None) -> ScorerStage:
        policy = load_policy(settings.policy_file)
        if settings.toxicity_checkpoint is None or settings.toxicity_config_dir is None:
            return cls(policy)
        from pipeline.models.toxicity import ToxicityScorer

        scorer = ToxicityScorer(
            settings.toxicity_checkpoint,
            settings.toxicity_config_dir,
            batch_size=settings.toxicity_batch_size,
        )
        log.info("toxicity model loaded", extra={"model": scorer.model_id, "device": scorer.device})
        return cls(policy, scorer)

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        jobs: list[tuple[Any, str, str]] = []  # (event, text, text_language) to score
        outputs: list[Envelope] = []
        plans: list[tuple[Any, str | None, str | None]] = []
        for event in events:
            if isinstance(event, LanguageIdentified):
                lang = event.language.lang
                if self.toxicity is not None and lang in self.toxicity.languages:
                    jobs.append((event, event.contribution.text, lang))
                    plans.append((event, None, lang))
                else:
                    plans.append((event, self._gap(lang), lang))
            else:
                text = self._english(event)
                if text is not None:
                    jobs.append((event, text, "en"))
                    plans.append((event, None, "en"))
        scores = self.toxicity.score([text for _, text, _ in jobs]) if jobs else []
        by_event = {id(event): values for (event, _, _), values in zip(jobs, scores, strict=True)}
        for event, gap, lang in plans:
            values = by_event.get(id(event))
            if isinstance(event, LanguageIdentified):
                outputs.extend(self._original(event, values, gap, lang))
            elif values is not None:
                outputs.append(self._translation(event, values))
        return outputs

    def _gap(self, lang: str | None) -> str:
        if self.toxicity is None:
            return self.unavailable_reason
        if lang is None:
            return "language unknown; scored when an English translation arrives"
        return (
            f"language {lang} not covered by the toxicity model; scored on its English translation"
        )

    def _english(self, event: ContributionTranslated) -> str | None:
        """The English translation of a contribution the model cannot score as written."""
        if self.toxicity is None or event.source_language in self.toxicity.languages:
            return None
        parts = {t.field: t.text for t in event.translations if t.target_language == "en"}
        if "body" not in parts:
            return None
        return f"{parts['title']}\n{parts['body']}" if parts.get("title") else parts["body"]

    def _toxicity_scores(
        self, values: dict[str, float], lang: str | None, source: str
    ) -> list[Score]:
        model = self.toxicity.model_id if self.toxicity is not None else "none"
        return [
            Score(
                category=category, value=value, model=model, text_language=lang, text_source=source
            )  # type: ignore[arg-type]
            for category, value in values.items()
        ]

    def _original(
        self,
        event: LanguageIdentified,
        values: dict[str, float] | None,
        gap: str | None,
        lang: str | None,
    ) -> list[Envelope]:
        c = event.contribution
        signals = self.spam.signals(c.text, c.author, c.created_at)
        key = f"{event.contribution_id}#{event.contribution_version}"
        flood = self.floods.add(key, c.text)
        min_size = self.policy.spam.flood_min_size
        if flood.cluster_id and flood.size >= min_size:
            signals.append(
                SpamSignal(
                    name="flood",
                    value=float(flood.size),
                    explanation=f"near-duplicate of {flood.size - 1} contributions "
                    f"(cluster {flood.cluster_id})",
                )
            )
        spam_score = combine(signals)
        prior = self.authors[c.author]
        self.authors[c.author] += 1
        scores = self._toxicity_scores(values, lang, "original") if values is not None else []
        scores.append(
            Score(category="spam", value=spam_score, model=SPAM_MODEL, text_language=lang)
        )
        out: list[Envelope] = [
            event.derive(
                ContributionScored,
                producer=self.name,
                scope="original",
                scores=scores,
                toxicity_available=values is not None,
                unavailable_reason=gap,
                spam_score=spam_score,
                spam_signals=signals,
                cluster_id=flood.cluster_id,
                cluster_size=flood.size,
                author_prior_contributions=prior,
            )
        ]
        if flood.cluster_id is None:
            return out
        members = self.floods.members(flood.cluster_id) if flood.size == min_size else flood.joined
        for member in members:
            if member == key:
                continue
            cid, version = member.rsplit("#", 1)
            out.append(
                event.derive(
                    ContributionScored,
                    producer=self.name,
                    part=f"cluster:{member}",
                    scope="cluster",
                    contribution_id=cid,
                    contribution_version=int(version),
                    cluster_id=flood.cluster_id,
                    cluster_size=flood.size,
                )
            )
        return out

    def _translation(self, event: ContributionTranslated, values: dict[str, float]) -> Envelope:
        return event.derive(
            ContributionScored,
            producer=self.name,
            scope="translation",
            scores=self._toxicity_scores(values, "en", "translation"),
            toxicity_available=True,
        )
