"""scorer: LanguageIdentified / ContributionTranslated → ContributionScored.

* Text in a language the toxicity model covers is scored as written; any other language is
  scored on its English translation when ``ContributionTranslated`` brings one (a second
  event with ``scope="translation"``). Each score records the text and model behind it.
* Spam signals and the flood cluster are computed once per contribution version, on the
  original text; a ``spam`` score (noisy-OR of the signals) joins the toxicity scores.
* When a flood cluster reaches the policy's ``flood_min_size``, every earlier member gets a
  ``scope="cluster"`` update so that the whole flood can be acted on at once.
* Author counts, burst windows and the flood index are shared state in the store
  (:mod:`pipeline.store.scorer_state`), read and written once per poll batch: replicas and
  restarts see one flood, and a replayed event gets the facts recorded the first time, so it
  emits the same events again.
* Campaigns across languages: each contribution version is also compared in the campaign
  pivot language (its machine translation into it; texts written in the pivot are the flood
  index's) in a
  second index (:mod:`pipeline.models.campaigns`); its clusters (``m-…``) reach triage as
  ``scope="cluster"`` updates like floods', so one message posted in five languages by five
  accounts is one cluster, acted on at once. Triage keeps the larger of the two clusters.
* Only the English text (for toxicity) and the campaign pivot's are decoded from a
  ``ContributionTranslated`` (:meth:`decode`).
* Without a configured model, toxicity is recorded as unavailable; spam signals still run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, cast

from pipeline.config import Settings
from pipeline.extras import install_hint, installed, require
from pipeline.logs import get_logger
from pipeline.models.campaigns import CampaignDetector, campaign_id
from pipeline.models.floods import FloodDetector
from pipeline.models.spam import SpamDetector, combine
from pipeline.models.toxicity_windows import WindowedScores
from pipeline.policy import Policy, load_policy
from pipeline.privacy.keyring import author_id
from pipeline.schemas import (
    ContributionScored,
    ContributionTranslated,
    LanguageIdentified,
    Score,
    SpamSignal,
)
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.store.scorer_state import (
    Facts,
    Observation,
    ScorerLimits,
    ScorerState,
    member_key,
    open_scorer_state,
    split_member_key,
)
from pipeline.workers.runner import Stage

log = get_logger("scorer")

SPAM_MODEL = "hemicycle-spam-signals"
NO_MODEL = "toxicity model not configured (HEMICYCLE_TOXICITY_CHECKPOINT)"


ScorerInput = LanguageIdentified | ContributionTranslated


class ScorerStage(Stage[ScorerInput]):
    name: ClassVar[str] = "scorer"
    inputs: ClassVar[tuple[str, ...]] = ("identified", "translated")
    accepts: ClassVar[tuple[type[Envelope], ...]] = (LanguageIdentified, ContributionTranslated)

    def __init__(
        self,
        policy: Policy,
        toxicity: Any | None = None,
        unavailable_reason: str = NO_MODEL,
        *,
        state: ScorerState | None = None,
        campaign_pivot: str | None = None,
        campaigns: ScorerState | None = None,
    ) -> None:
        """Without ``state`` (``campaigns``: the campaign index), the scorer keeps its own in
        memory (tests, a lone process). Without ``campaign_pivot``, no campaigns are sought."""
        self.policy = policy
        self.toxicity = toxicity
        self.unavailable_reason = unavailable_reason
        self.spam = SpamDetector(policy.spam)
        self.floods = FloodDetector(policy.spam.flood_similarity, window=policy.spam.flood_window)
        self.state = state or open_scorer_state(None, ScorerLimits.of(policy.spam))
        self.campaign_pivot = campaign_pivot
        self.campaign_detector = CampaignDetector(window=policy.spam.flood_window)
        self.campaigns = campaigns or open_scorer_state(None, ScorerLimits.of(policy.spam))

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore | None = None) -> ScorerStage:
        policy = load_policy(settings.policy_file)
        limits = ScorerLimits.of(policy.spam)
        state = open_scorer_state(store, limits)
        pivots = [p for p in settings.campaign_pivots if p in settings.target_languages]
        extra: dict[str, Any] = {
            "state": state,
            "campaign_pivot": pivots[0] if pivots else None,
            "campaigns": open_scorer_state(store, limits, "campaign"),
        }
        if settings.toxicity_checkpoint is None or settings.toxicity_config_dir is None:
            if not installed("score"):
                log.info(
                    'toxicity unavailable: no model configured, and the "score" extra it '
                    f"needs is not installed ({install_hint('score')})",
                    extra={"extra": "score"},
                )
            return cls(policy, **extra)
        require("score", "the scorer")
        from pipeline.models.toxicity import ToxicityScorer

        scorer = ToxicityScorer.from_settings(settings)
        log.info(
            "toxicity model loaded",
            extra={
                "model": scorer.model_id,
                "device": scorer.device,
                "token_limit": scorer.max_length,  # capped by the model's own limit
                "batch_tokens": scorer.max_batch_tokens or None,
            },
        )
        return cls(policy, scorer, **extra)

    def decode(self, value: bytes, settings: Settings) -> ScorerInput:
        """Decode a record, keeping of a ``ContributionTranslated`` only what is scored.

        A translated contribution carries every target language; the scorer needs only the
        English translations (none when the model covers the source language) and those into
        the campaign pivot. The rest is dropped before validation (invalid records still fail
        with a reason).
        """
        if b"ContributionTranslated" not in value or len(value) > settings.max_event_bytes:
            return super().decode(value, settings)
        try:
            doc = json.loads(value)
        except (ValueError, UnicodeDecodeError):
            return super().decode(value, settings)  # the default names what is wrong
        if not isinstance(doc, dict) or doc.get("type") != "ContributionTranslated":
            return super().decode(value, settings)
        translations = doc.get("translations")
        wanted = {"en"} if self._needs_english(doc.get("source_language")) else set()
        if self.campaign_pivot is not None:
            wanted.add(self.campaign_pivot)
        doc["unavailable"] = []
        if isinstance(translations, list):
            doc["translations"] = [
                t
                for t in translations
                if not isinstance(t, dict) or t.get("target_language") in wanted
            ]
        return super().decode(json.dumps(doc).encode(), settings)

    def _needs_english(self, source_language: Any) -> bool:
        return self.toxicity is not None and source_language not in self.toxicity.languages

    def process(self, events: Sequence[ScorerInput]) -> list[Envelope]:
        jobs: list[tuple[Any, str, str | None]] = []  # (event, text, text_language) to score
        outputs: list[Envelope] = []
        plans: list[tuple[Any, str | None, str | None]] = []
        facts = self._observe(events)
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
        scores = self._score_texts([text for _, text, _ in jobs]) if jobs else []
        by_event = {id(event): values for (event, _, _), values in zip(jobs, scores, strict=True)}
        for event, gap, lang in plans:
            values = by_event.get(id(event))
            if isinstance(event, LanguageIdentified):
                outputs.extend(self._original(event, values, gap, lang, facts[id(event)]))
            elif values is not None:
                outputs.append(self._translation(event, values))
        outputs.extend(self._campaigns(events))
        return outputs

    def _score_texts(self, texts: list[str]) -> list[WindowedScores]:
        """Toxicity of each text, with its windows when the model says (``score_windows``)."""
        windowed = getattr(self.toxicity, "score_windows", None)
        if windowed is not None:
            return cast(list[WindowedScores], windowed(texts))
        model: Any = self.toxicity  # only called with texts to score: a model is loaded
        return [WindowedScores(values) for values in model.score(texts)]

    def _observe(self, events: Sequence[Any]) -> dict[int, Facts]:
        """The shared state's facts for each original of the batch, in one round trip."""
        originals = [e for e in events if isinstance(e, LanguageIdentified)]
        observations = [
            Observation(
                key=member_key(e.contribution_id, e.contribution_version),
                # A digest, not the id: the shared state holds no author id in the clear.
                author=author_id(e.contribution.platform, e.contribution.author),
                at_ms=int(e.contribution.created_at.timestamp() * 1000),
                bands=self.floods.bands(e.contribution.text),
            )
            for e in originals
        ]
        found = self.state.observe(observations)
        return {id(e): f for e, f in zip(originals, found, strict=True)}

    def _pivot_text(self, event: Any) -> str | None:
        """The machine translation into the campaign pivot language, if this event brings one.

        Only translations are compared: near-duplicates written in one language are floods,
        found by the stricter flood index, and comparing texts written in the pivot language
        on loose word stems would call a handful of similar proposals a campaign "across
        languages" (seen with six templated English proposals).
        """
        pivot = self.campaign_pivot
        if pivot is None or isinstance(event, LanguageIdentified):
            return None
        if event.source_language == pivot:
            return None
        parts = {t.field: t.text for t in event.translations if t.target_language == pivot}
        if "body" not in parts:
            return None
        return f"{parts['title']}\n{parts['body']}" if parts.get("title") else parts["body"]

    def _campaigns(self, events: Sequence[Any]) -> list[Envelope]:
        """Cluster updates of the campaign index for the batch's pivot-language texts.

        Each member, and the earlier members owed one, gets a ``scope="cluster"`` update with
        the campaign's id and size (derived ids: a replay emits the same events). The index
        is a second scorer state; its author counts are not used (the original's are)."""
        found: list[tuple[Any, str]] = []
        observations = []
        for event in events:
            text = self._pivot_text(event)
            bands = self.campaign_detector.bands(text) if text else None
            if bands is None:
                continue
            key = member_key(event.contribution_id, event.contribution_version)
            found.append((event, key))
            observations.append(Observation(key=key, author="", at_ms=0, bands=bands))
        out: list[Envelope] = []
        for (event, key), facts in zip(found, self.campaigns.observe(observations), strict=True):
            if not facts.cluster_id:
                continue
            cluster = campaign_id(facts.cluster_id)
            out += [
                self._cluster_update(event, member, "campaign", cluster, facts.cluster_size)
                for member in dict.fromkeys((key, *facts.notify))
            ]
        return out

    def _cluster_update(
        self, event: ScorerInput, member: str, kind: str, cluster_id: str | None, size: int
    ) -> Envelope:
        """A ``scope="cluster"`` update telling ``member`` it is in ``cluster_id`` (derived
        id: a replay of ``event`` emits it again)."""
        cid, version = split_member_key(member)
        return event.derive(
            ContributionScored,
            producer=self.name,
            part=f"{kind}:{member}",
            scope="cluster",
            contribution_id=cid,
            contribution_version=version,
            cluster_id=cluster_id,
            cluster_size=size,
        )

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
        if not self._needs_english(event.source_language):
            return None
        parts = {t.field: t.text for t in event.translations if t.target_language == "en"}
        if "body" not in parts:
            return None
        return f"{parts['title']}\n{parts['body']}" if parts.get("title") else parts["body"]

    def _toxicity_scores(
        self, scored: WindowedScores, lang: str | None, source: str
    ) -> list[Score]:
        model = self.toxicity.model_id if self.toxicity is not None else "none"
        out: list[Score] = []
        for category, value in scored.values.items():
            start, end = scored.spans.get(category, (None, None))
            out.append(
                Score(
                    category=category,
                    value=value,
                    model=model,
                    text_language=lang,
                    text_source=source,
                    window_start=start,
                    window_end=end,
                )
            )
        return out

    def _original(
        self,
        event: LanguageIdentified,
        values: WindowedScores | None,
        gap: str | None,
        lang: str | None,
        facts: Facts,
    ) -> list[Envelope]:
        c = event.contribution
        signals = self.spam.content(c.text) + self.spam.burst(c.author, facts.burst_count)
        key = member_key(event.contribution_id, event.contribution_version)
        if facts.cluster_id and facts.cluster_size >= self.policy.spam.flood_min_size:
            signals.append(
                SpamSignal(
                    name="flood",
                    value=float(facts.cluster_size),
                    explanation=f"near-duplicate of {facts.cluster_size - 1} contributions "
                    f"(cluster {facts.cluster_id})",
                )
            )
        spam_score = combine(signals)
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
                toxicity_windows=values.windows if values is not None else 0,
                toxicity_windows_capped=values is not None and values.capped,
                spam_score=spam_score,
                spam_signals=signals,
                cluster_id=facts.cluster_id,
                cluster_size=facts.cluster_size,
                author_prior_contributions=facts.prior_contributions,
            )
        ]
        out += [
            self._cluster_update(event, member, "cluster", facts.cluster_id, facts.cluster_size)
            for member in facts.notify
            if member != key
        ]
        return out

    def _translation(self, event: ContributionTranslated, values: WindowedScores) -> Envelope:
        return event.derive(
            ContributionScored,
            producer=self.name,
            scope="translation",
            scores=self._toxicity_scores(values, "en", "translation"),
            toxicity_available=True,
            toxicity_windows=values.windows,
            toxicity_windows_capped=values.capped,
        )

    def close(self) -> None:
        self.state.close()
        self.campaigns.close()
