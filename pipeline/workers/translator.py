"""translator: LanguageIdentified → ContributionTranslated, one event per target language.

For every configured target language except the source, title and body are segmented
offline (paragraph breaks kept exactly), and each segment is taken, in order, from:

1. the translation memory (a translator corrected it before) → origin ``memory``;
2. the machine-translation cache of the chosen model (translated before) → ``machine``;
3. the model, in dynamic batches across every contribution of the poll, grouped by
   (model, language pair), sorted by length and cut by a token budget → ``machine``.

The route is a direct model for the pair, else a pivot through English (two models); it is
recorded in each translation. A pair with no route is recorded as unavailable with the reason.
An edited contribution (a new version) re-translates only the segments that changed: the
others come from the cache. Model failures raise, so the runner retries and dead-letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipeline.batching import BatchBudget, BatchRequest, DynamicBatcher
from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.models.segment import Segmented, reassemble, segment
from pipeline.models.translate import ModelInfo, TranslationBackend, list_models, load_backend
from pipeline.schemas import (
    ContributionTranslated,
    LanguageIdentified,
    Translation,
    TranslationCorrected,
    UnavailableTranslation,
)
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.translation_memory import TranslationMemory
from pipeline.workers.runner import Stage

log = get_logger("translator")
PIVOT = "en"


@dataclass
class _Field:
    """One field of one contribution into one target language, segment by segment."""

    event: LanguageIdentified
    name: str
    target: str
    route: list[str]
    models: list[ModelInfo]
    parts: Segmented
    texts: list[str | None] = field(default_factory=list)  # per segment, once translated
    from_memory: list[bool] = field(default_factory=list)
    override: str | None = None  # the whole field from memory


def batch_budget(settings: Settings) -> BatchBudget:
    """Large model calls: CTranslate2 sorts and sub-batches inside one call better than we can
    across several (it keeps every thread busy to the end); the token budget bounds memory."""
    return BatchBudget(max_tokens=settings.translation_max_batch_tokens, max_items=2048)


class TranslatorStage(Stage):
    name: ClassVar[str] = "translator"
    inputs: ClassVar[tuple[str, ...]] = ("identified", "corrections")
    accepts: ClassVar[tuple[type, ...]] = (LanguageIdentified, TranslationCorrected)

    def __init__(
        self,
        store: QueueStore,
        models: Sequence[ModelInfo],
        targets: Sequence[str],
        *,
        budget: BatchBudget | None = None,
        backend_options: dict[str, Any] | None = None,
        max_segment_chars: int = 400,
    ) -> None:
        self.memory = TranslationMemory(store)
        self.models = list(models)
        self.targets = list(targets)
        self.budget = budget or BatchBudget()
        self.backend_options = backend_options or {}
        self.max_segment_chars = max_segment_chars
        self._backends: dict[str, TranslationBackend] = {}

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> TranslatorStage:
        models = list_models(settings.resolved_models_dir)
        log.info("translation models", extra={"models": [m.model_id for m in models]})
        return cls(
            store,
            models,
            settings.target_languages,
            budget=batch_budget(settings),
            backend_options={"beam_size": settings.translation_beam_size},
        )

    # -- routing ------------------------------------------------------------------------------

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        for info in self.models:
            if (source, target) in info.pairs:
                return info
        return None

    def route(self, source: str, target: str) -> tuple[list[str], list[ModelInfo]] | str:
        """Languages passed and the model of each leg, or the reason there is no route."""
        direct = self.model_for(source, target)
        if direct is not None:
            return [source, target], [direct]
        first, second = self.model_for(source, PIVOT), self.model_for(PIVOT, target)
        if PIVOT not in (source, target) and first is not None and second is not None:
            return [source, PIVOT, target], [first, second]
        return f"no model for {source}→{target}" + (
            "" if PIVOT in (source, target) else f" and no pivot through {PIVOT}"
        )

    def backend(self, info: ModelInfo) -> TranslationBackend:
        if info.model_id not in self._backends:
            self._backends[info.model_id] = load_backend(info, **self.backend_options)
        return self._backends[info.model_id]

    # -- processing ---------------------------------------------------------------------------

    def process(self, events: Sequence[Any]) -> list[Envelope]:
        for event in events:
            if isinstance(event, TranslationCorrected):
                self._learn(event)
        identified = [e for e in events if isinstance(e, LanguageIdentified) and e.language.lang]
        fields: list[_Field] = []
        unavailable: dict[tuple[int, str], str] = {}
        for n, event in enumerate(identified):
            source = event.language.lang
            for target in self.targets:
                if target == source:
                    continue
                routed = self.route(source, target)
                if isinstance(routed, str):
                    unavailable[(n, target)] = routed
                    continue
                for name in ("title", "body"):
                    text = getattr(event.contribution, name)
                    if text:
                        parts = segment(text, source, max_chars=self.max_segment_chars)
                        fields.append(_Field(event, name, target, routed[0], routed[1], parts))
        self._translate(fields)
        return self._events(identified, fields, unavailable)

    def _learn(self, event: TranslationCorrected) -> None:
        """Remember a translator's correction: per segment where they line up, else whole."""
        if not event.source_text or not event.source_language:
            return
        source, target = event.source_language, event.target_language
        self.memory.remember(source, target, event.source_text, event.text)
        original = segment(event.source_text, source, max_chars=self.max_segment_chars)
        corrected = segment(event.text, target, max_chars=self.max_segment_chars)
        if len(original.segments) == len(corrected.segments):
            for src, dst in zip(original.segments, corrected.segments, strict=True):
                self.memory.remember(source, target, src.text, dst.text)

    def _translate(self, fields: list[_Field]) -> None:
        """Fill every field's segments: memory, then cache, then batched model calls per leg."""
        for item in fields:
            source, target = item.route[0], item.route[-1]
            whole = getattr(item.event.contribution, item.name)
            item.override = self.memory.recall(source, target, whole)
            recalled = [
                item.override
                if item.override is not None
                else self.memory.recall(source, target, s.text)
                for s in item.parts.segments
            ]
            item.from_memory = [r is not None for r in recalled]
            item.texts = list(recalled)
        legs = max((len(item.models) for item in fields), default=0)
        current = {id(item): [s.text for s in item.parts.segments] for item in fields}
        for leg in range(legs):
            batcher = DynamicBatcher(self.budget)
            wanted: dict[tuple[str, str, str, str], str | None] = {}
            for item in fields:
                if leg >= len(item.models):
                    continue
                info, src, dst = item.models[leg], item.route[leg], item.route[leg + 1]
                for i, text in enumerate(current[id(item)]):
                    if item.from_memory[i]:
                        continue
                    key = (info.model_id, src, dst, text)
                    if key in wanted:
                        continue
                    hit = self.memory.cached(info.model_id, src, dst, text)
                    wanted[key] = hit
                    if hit is None:
                        tokens = self.backend(info).count_tokens(text, src)
                        batcher.add(
                            BatchRequest(
                                key=(info.model_id, src, dst), item=key, tokens=tokens, arrived=0.0
                            )
                        )
            by_id = {info.model_id: info for item in fields for info in item.models}
            for batch in batcher.drain():
                model_id, src, dst = batch.key  # type: ignore[misc]
                keys = [request.item for request in batch.requests]
                outputs = self.backend(by_id[model_id]).translate([(k[3], src, dst) for k in keys])
                for k, out in zip(keys, outputs, strict=True):
                    wanted[k] = out
                    self.memory.cache(model_id, src, dst, k[3], out)
            for item in fields:
                if leg >= len(item.models):
                    continue
                info, src, dst = item.models[leg], item.route[leg], item.route[leg + 1]
                current[id(item)] = [
                    text if item.from_memory[i] else (wanted[(info.model_id, src, dst, text)] or "")
                    for i, text in enumerate(current[id(item)])
                ]
        for item in fields:
            item.texts = [
                recalled if item.from_memory[i] else current[id(item)][i]
                for i, recalled in enumerate(item.texts)
            ]

    def _events(
        self,
        identified: list[LanguageIdentified],
        fields: list[_Field],
        unavailable: dict[tuple[int, str], str],
    ) -> list[Envelope]:
        index = {id(event): n for n, event in enumerate(identified)}
        grouped: dict[tuple[int, str], list[Translation]] = {}
        for item in fields:
            text = item.override or reassemble(item.parts, [t or "" for t in item.texts])
            origin = "memory" if item.from_memory and all(item.from_memory) else "machine"
            grouped.setdefault((index[id(item.event)], item.target), []).append(
                Translation(
                    field=item.name,  # type: ignore[arg-type]
                    target_language=item.target,
                    text=text,
                    origin=origin,  # type: ignore[arg-type]
                    engine="+".join(dict.fromkeys(m.engine for m in item.models)),
                    model_id="+".join(m.model_id for m in item.models),
                    route=item.route,
                )
            )
        out: list[Envelope] = []
        for n, event in enumerate(identified):
            source = event.language.lang
            for target in self.targets:
                if (n, target) in grouped:
                    out.append(
                        event.derive(
                            ContributionTranslated,
                            producer=self.name,
                            part=target,
                            source_language=source,
                            translations=grouped[(n, target)],
                        )
                    )
            missing = [
                UnavailableTranslation(target_language=t, reason=reason)
                for (m, t), reason in sorted(unavailable.items())
                if m == n
            ]
            if missing:
                out.append(
                    event.derive(
                        ContributionTranslated,
                        producer=self.name,
                        part="unavailable",
                        source_language=source,
                        unavailable=missing,
                    )
                )
        return out
