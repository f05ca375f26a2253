"""translator: LanguageIdentified → one ContributionTranslated per contribution version.

That event carries the translations (title and body) into every target language except the
source, and the target languages with no route, each with its reason. Only if it would exceed
``max_event_bytes`` (consumers refuse larger records) is it split, by whole languages, into as
few parts as needed, each a valid event for a subset of the languages (ids derived with
``part="<i>-of-<n>"``). A translator's correction (``TranslationCorrected``) is learnt here by
the memory and reaches triage as its own event for that contribution.

Each field is segmented once, offline (paragraph breaks kept exactly), and that segmentation
serves every target. Each segment is taken, in order, from:

1. the translation memory (a translator corrected it before) → origin ``memory``;
2. the machine-translation cache of the chosen model (translated before) → ``machine``;
3. the model, in dynamic batches across every contribution of the poll, grouped by
   (model, language pair), sorted by length and cut by a token budget → ``machine``.

A poll batch costs few store round trips: one multi-get of the memory for every field, segment
and target of the batch, then per leg one multi-get of the cache and one multi-set per model
batch of what it produced.

The route is the shortest chain of installed models from the source to the target through any
languages (fewest legs, at most ``max_legs``; among those, the most preferred engines: the
models come ordered by ``HEMICYCLE_TRANSLATION_ENGINES``); it is recorded in each translation
(``["pt", "es", "en"]``). A pair with no route is recorded as unavailable with the reason.
An edited contribution (a new version) re-translates only the segments that changed: the
others come from the cache. Model failures raise, so the runner retries and dead-letters.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipeline.batching import BatchBudget, BatchRequest, DynamicBatcher
from pipeline.config import Settings
from pipeline.extras import install_hint, installed
from pipeline.logs import get_logger
from pipeline.models.catalog import available_models
from pipeline.models.segment import Segmented, reassemble, segment
from pipeline.models.translation.base import ModelInfo, TranslationBackend
from pipeline.models.translation.registry import load_backend, require_engine
from pipeline.schemas import (
    ContributionTranslated,
    LanguageIdentified,
    Translation,
    TranslationCorrected,
    UnavailableTranslation,
)
from pipeline.schemas.envelope import Envelope
from pipeline.store.base import QueueStore
from pipeline.translation_memory import CacheKey, MemoryKey, TranslationMemory
from pipeline.workers.runner import Stage

SEALED_SHARE = 0.7  # of the record limit, for the plaintext of an event sealed afterwards

log = get_logger("translator")


@dataclass
class _Field:
    """One field of one contribution into one target language, segment by segment.

    ``parts`` is the field's segmentation, computed once and shared by every target."""

    event: LanguageIdentified
    name: str
    target: str
    route: list[str]
    models: list[ModelInfo]
    parts: Segmented
    texts: list[str | None] = field(default_factory=list)  # per segment, once translated
    from_memory: list[bool] = field(default_factory=list)
    override: str | None = None  # the whole field from memory

    @property
    def whole(self) -> str:
        """The field's text as written."""
        return getattr(self.event.contribution, self.name)  # type: ignore[no-any-return]


# Per source language: (target, languages passed, model of each leg) and the unreachable targets.
_Plan = tuple[list[tuple[str, list[str], list[ModelInfo]]], list[UnavailableTranslation]]


def batch_budget(settings: Settings) -> BatchBudget:
    """Large model calls: CTranslate2 sorts and sub-batches inside one call better than we can
    across several (it keeps every thread busy to the end); the token budget bounds memory."""
    return BatchBudget(max_tokens=settings.translation_max_batch_tokens, max_items=2048)


TranslatorInput = LanguageIdentified | TranslationCorrected


class TranslatorStage(Stage[TranslatorInput]):
    name: ClassVar[str] = "translator"
    inputs: ClassVar[tuple[str, ...]] = ("identified", "corrections")
    accepts: ClassVar[tuple[type[Envelope], ...]] = (LanguageIdentified, TranslationCorrected)

    def __init__(
        self,
        store: QueueStore,
        models: Sequence[ModelInfo],
        targets: Sequence[str],
        *,
        budget: BatchBudget | None = None,
        backend_options: dict[str, Any] | None = None,
        max_segment_chars: int = 400,
        max_event_bytes: int | None = None,
        max_legs: int = 2,
    ) -> None:
        """``models`` in order of preference: the first that translates a pair is its edge."""
        self.memory = TranslationMemory(store)
        self.models = list(models)
        self.targets = list(targets)
        self.budget = budget or BatchBudget()
        self.backend_options = backend_options or {}
        self.max_segment_chars = max_segment_chars
        self.max_event_bytes = max_event_bytes
        self._backends: dict[str, TranslationBackend] = {}
        self._plans: dict[str, _Plan] = {}
        self.max_legs = max_legs
        self._edges: dict[str, dict[str, tuple[int, ModelInfo]]] = {}
        ranks = {engine: n for n, engine in enumerate(dict.fromkeys(m.engine for m in models))}
        for info in self.models:
            for src, dst in sorted(info.pairs):
                self._edges.setdefault(src, {}).setdefault(dst, (ranks[info.engine], info))
        self._routes: dict[str, dict[str, tuple[list[str], list[ModelInfo]]]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> TranslatorStage:
        models = available_models(settings)
        for engine in dict.fromkeys(m.engine for m in models):
            require_engine(engine)  # at start, not at the first contribution in that pair
        log.info("translation models", extra={"models": [m.model_id for m in models]})
        if not installed("translate"):
            log.info(
                'the argos and transformers engines need the "translate" extra '
                f"({install_hint('translate')}); Apertium's pairs need only Apertium",
                extra={"extra": "translate"},
            )
        return cls(
            store,
            models,
            settings.target_languages,
            budget=batch_budget(settings),
            backend_options={"beam_size": settings.translation_beam_size},
            # Sealed texts (base64 of the ciphertext, see pipeline.privacy) take 4/3 of the
            # plaintext and a key id: what is split here must still fit once sealed.
            max_event_bytes=(
                int(settings.max_event_bytes * SEALED_SHARE)
                if settings.personal_data_protection
                else settings.max_event_bytes
            ),
            max_legs=settings.translation_max_legs,
        )

    # -- routing ------------------------------------------------------------------------------

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        edge = self._edges.get(source, {}).get(target)
        return edge[1] if edge else None

    def route(self, source: str, target: str) -> tuple[list[str], list[ModelInfo]] | str:
        """Languages passed and the model of each leg, or the reason there is no route."""
        if source not in self._routes:
            self._routes[source] = self._search(source)
        found = self._routes[source].get(target)
        if found is not None:
            return found
        reason = f"no model for {source}→{target}"
        reachable = any(target in edges for edges in self._edges.values())
        if self.max_legs > 1 and source in self._edges and reachable:
            reason += f" and no route through other languages within {self.max_legs} legs"
        return reason

    def _search(self, source: str) -> dict[str, tuple[list[str], list[ModelInfo]]]:
        """Best route to every reachable language: fewest legs, then the lowest sum of engine
        ranks, then the route's languages (so the choice is stable); Dijkstra on that order."""
        best: dict[str, tuple[list[str], list[ModelInfo]]] = {}
        heap: list[tuple[int, int, list[str], list[ModelInfo]]] = [(0, 0, [source], [])]
        settled: set[str] = set()
        while heap:
            legs, cost, path, models = heapq.heappop(heap)
            here = path[-1]
            if here in settled:
                continue
            settled.add(here)
            if here != source:
                best[here] = (path, models)
            if legs == self.max_legs:
                continue
            for there, (rank, info) in self._edges.get(here, {}).items():
                if there not in settled:
                    heapq.heappush(heap, (legs + 1, cost + rank, [*path, there], [*models, info]))
        return best

    def backend(self, info: ModelInfo) -> TranslationBackend:
        if info.model_id not in self._backends:
            self._backends[info.model_id] = load_backend(info, **self.backend_options)
        return self._backends[info.model_id]

    def close(self) -> None:
        """Stop the engines' own processes (Apertium's); the others hold nothing to release."""
        for backend in self._backends.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()

    # -- processing ---------------------------------------------------------------------------

    def process(self, events: Sequence[TranslatorInput]) -> list[Envelope]:
        self._learn([e for e in events if isinstance(e, TranslationCorrected)])
        identified = [e for e in events if isinstance(e, LanguageIdentified) and e.language.lang]
        fields: list[_Field] = []
        unavailable: dict[int, list[UnavailableTranslation]] = {}
        for n, event in enumerate(identified):
            source = event.language.lang
            assert source is not None
            routes, missing = self._plan(source)
            if missing:
                unavailable[n] = missing
            segmented = {
                name: segment(text, source, max_chars=self.max_segment_chars)
                for name in ("title", "body")
                if routes and (text := getattr(event.contribution, name))
            }
            for target, route, models in routes:
                for name, parts in segmented.items():
                    fields.append(_Field(event, name, target, route, models, parts))
        self._translate(fields)
        recalled = self._recall_unrouted(identified, unavailable)
        return self._events(identified, fields, unavailable, recalled)

    def _recall_unrouted(
        self,
        identified: list[LanguageIdentified],
        unavailable: dict[int, list[UnavailableTranslation]],
    ) -> dict[int, list[Translation]]:
        """Translations from the memory for targets no model reaches: a translator wrote them
        for this exact text before. A target every non-empty field of which is recalled is no
        longer unavailable."""
        wanted: dict[int, list[tuple[str, str, str]]] = {}
        for n, missing in unavailable.items():
            texts = [
                (name, text)
                for name in ("title", "body")
                if (text := getattr(identified[n].contribution, name))
            ]
            wanted[n] = [(u.target_language, name, text) for u in missing for name, text in texts]
        keys = {
            (identified[n].language.lang or "", target, text)
            for n, triples in wanted.items()
            for target, _, text in triples
        }
        memory = self.memory.recall_many(keys) if keys else {}
        out: dict[int, list[Translation]] = {}
        for n, triples in wanted.items():
            source = identified[n].language.lang or ""
            found = [
                Translation(
                    field=name,
                    target_language=target,
                    text=memory[(source, target, text)],
                    origin="memory",
                    route=[source, target],
                )
                for target, name, text in triples
                if (source, target, text) in memory
            ]
            if not found:
                continue
            out[n] = found
            fields_of = {t: {name for tt, name, _ in triples if tt == t} for t, _, _ in triples}
            covered = {
                t
                for t, names in fields_of.items()
                if names == {f.field for f in found if f.target_language == t}
            }
            unavailable[n] = [u for u in unavailable[n] if u.target_language not in covered]
        return out

    def _plan(self, source: str) -> _Plan:
        """Routes to every target, and the targets with none, from ``source``; remembered, as
        the models do not change while the stage runs."""
        if source not in self._plans:
            routes: list[tuple[str, list[str], list[ModelInfo]]] = []
            missing: list[UnavailableTranslation] = []
            for target in self.targets:
                if target == source:
                    continue
                routed = self.route(source, target)
                if isinstance(routed, str):
                    missing.append(UnavailableTranslation(target_language=target, reason=routed))
                else:
                    routes.append((target, *routed))
            self._plans[source] = (routes, missing)
        return self._plans[source]

    def _learn(self, corrections: Sequence[TranslationCorrected]) -> None:
        """Remember translators' corrections: per segment where they line up, else whole."""
        learnt: dict[MemoryKey, str] = {}
        for event in corrections:
            if not event.source_text or not event.source_language:
                continue
            source, target = event.source_language, event.target_language
            learnt[(source, target, event.source_text)] = event.text
            original = segment(event.source_text, source, max_chars=self.max_segment_chars)
            corrected = segment(event.text, target, max_chars=self.max_segment_chars)
            if len(original.segments) == len(corrected.segments):
                for src, dst in zip(original.segments, corrected.segments, strict=True):
                    learnt[(source, target, src.text)] = dst.text
        if learnt:
            self.memory.remember_many(learnt)

    def _translate(self, fields: list[_Field]) -> None:
        """Fill every field's segments: memory, then cache, then batched model calls per leg."""
        if not fields:
            return
        wanted_memory: set[MemoryKey] = set()
        for item in fields:
            source, target = item.route[0], item.route[-1]
            wanted_memory.add((source, target, item.whole))
            wanted_memory.update((source, target, s.text) for s in item.parts.segments)
        memory = self.memory.recall_many(wanted_memory)
        for item in fields:
            source, target = item.route[0], item.route[-1]
            item.override = memory.get((source, target, item.whole))
            recalled = [
                item.override if item.override is not None else memory.get((source, target, s.text))
                for s in item.parts.segments
            ]
            item.from_memory = [r is not None for r in recalled]
            item.texts = list(recalled)
        legs = max(len(item.models) for item in fields)
        current = {id(item): [s.text for s in item.parts.segments] for item in fields}
        for leg in range(legs):
            needed: dict[CacheKey, ModelInfo] = {}
            for item in fields:
                if leg >= len(item.models):
                    continue
                info, src, dst = item.models[leg], item.route[leg], item.route[leg + 1]
                for i, text in enumerate(current[id(item)]):
                    if not item.from_memory[i]:
                        needed.setdefault((info.model_id, src, dst, text), info)
            done = self.memory.cached_many(needed)
            done.update(self._run_models({k: i for k, i in needed.items() if k not in done}))
            for item in fields:
                if leg >= len(item.models):
                    continue
                info, src, dst = item.models[leg], item.route[leg], item.route[leg + 1]
                current[id(item)] = [
                    text if item.from_memory[i] else done[(info.model_id, src, dst, text)]
                    for i, text in enumerate(current[id(item)])
                ]
        for item in fields:
            item.texts = [
                recalled if item.from_memory[i] else current[id(item)][i]
                for i, recalled in enumerate(item.texts)
            ]

    def _run_models(self, missing: dict[CacheKey, ModelInfo]) -> dict[CacheKey, str]:
        """Translate the segments no cache had, in dynamic batches; cache each batch's output."""
        batcher = DynamicBatcher(self.budget)
        for key, info in missing.items():
            _, src, _, text = key
            tokens = self.backend(info).count_tokens(text, src)
            batcher.add(BatchRequest(key=key[:3], item=key, tokens=tokens, arrived=0.0))
        out: dict[CacheKey, str] = {}
        for batch in batcher.drain():
            keys: list[CacheKey] = [request.item for request in batch.requests]  # type: ignore[misc]
            _, src, dst, _ = keys[0]
            outputs = self.backend(missing[keys[0]]).translate([(k[3], src, dst) for k in keys])
            fresh = dict(zip(keys, outputs, strict=True))
            self.memory.cache_many(fresh)
            out.update(fresh)
        return out

    def _events(
        self,
        identified: list[LanguageIdentified],
        fields: list[_Field],
        unavailable: dict[int, list[UnavailableTranslation]],
        recalled: dict[int, list[Translation]] | None = None,
    ) -> list[Envelope]:
        index = {id(event): n for n, event in enumerate(identified)}
        grouped: dict[int, dict[str, list[Translation]]] = {}
        for n, translations in (recalled or {}).items():
            for translation in translations:
                grouped.setdefault(n, {}).setdefault(translation.target_language, []).append(
                    translation
                )
        for item in fields:
            text = item.override or reassemble(item.parts, [t or "" for t in item.texts])
            origin = "memory" if item.from_memory and all(item.from_memory) else "machine"
            by_target = grouped.setdefault(index[id(item.event)], {})
            by_target.setdefault(item.target, []).append(
                Translation(
                    field=item.name,
                    target_language=item.target,
                    text=text,
                    origin=origin,
                    engine="+".join(dict.fromkeys(m.engine for m in item.models)),
                    model_id="+".join(m.model_id for m in item.models),
                    route=item.route,
                )
            )
        out: list[Envelope] = []
        for n, event in enumerate(identified):
            by_target = grouped.get(n, {})
            missing = unavailable.get(n, [])
            if by_target or missing:
                out.extend(self._parts(event, list(by_target.values()), missing))
        return out

    def _parts(
        self,
        event: LanguageIdentified,
        languages: list[list[Translation]],
        missing: list[UnavailableTranslation],
    ) -> list[ContributionTranslated]:
        """One event for the contribution version; split by languages only if it is too big."""
        whole = self._event(event, "", [t for ts in languages for t in ts], missing)
        limit = self.max_event_bytes
        if limit is None or _size_bound(whole) <= limit or len(whole.to_json()) <= limit:
            return [whole]
        base = len(self._event(event, "", [], []).to_json())
        # Each unit's share of the JSON: its items and a comma each (one more than needed).
        units: list[tuple[list[Translation], list[UnavailableTranslation], int]] = [
            (ts, [], sum(len(t.model_dump_json()) + 1 for t in ts)) for ts in languages
        ]
        units += [([], [u], len(u.model_dump_json()) + 1) for u in missing]
        packs: list[tuple[list[Translation], list[UnavailableTranslation]]] = []
        used = limit
        for translations, gaps, size in units:
            if used + size > limit:
                packs.append(([], []))
                used = base
            packs[-1][0].extend(translations)
            packs[-1][1].extend(gaps)
            used += size
        parts = [
            self._event(event, f"{i}-of-{len(packs)}", translations, gaps)
            for i, (translations, gaps) in enumerate(packs, start=1)
        ]
        if any(len(p.to_json()) > limit for p in parts):
            log.warning(
                "a single language's translations exceed the event limit",
                extra={"contribution_id": event.contribution_id, "limit": limit},
            )
        return parts

    def _event(
        self,
        event: LanguageIdentified,
        part: str,
        translations: list[Translation],
        missing: list[UnavailableTranslation],
    ) -> ContributionTranslated:
        return event.derive(
            ContributionTranslated,
            producer=self.name,
            part=part,
            source_language=event.language.lang,
            translations=translations,
            unavailable=missing,
        )


def _size_bound(event: ContributionTranslated) -> int:
    """More than the event's JSON can take, cheaply: a character is at most 6 bytes (an
    escaped control character), and field names, ids and punctuation stay within 400 bytes an
    item and 2,000 for the envelope."""
    chars = sum(
        len(t.text) + len(t.model_id or "") + len(t.engine or "") + 3 * len(t.route)
        for t in event.translations
    ) + sum(len(u.reason) for u in event.unavailable)
    items = len(event.translations) + len(event.unavailable)
    return 6 * (chars + len(event.contribution_id)) + 400 * items + 2_000
