"""langid: ContributionSubmitted → LanguageIdentified (fastText, with a second opinion).

Each poll batch is identified at once: texts already seen (a bounded memo, see
:mod:`pipeline.workers.langid_cache`) and repeats inside the batch are answered without the
detector; the rest go to it in one ``detect_many`` call. Outputs are built without a second
validation (:func:`identified`): every part of them is validated already.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from pipeline.config import Settings
from pipeline.models.langid import LanguageDetector, LanguageGuess
from pipeline.models.langid_shared import shared_detector
from pipeline.schemas import (
    ContributionSubmitted,
    LanguageCandidate,
    LanguageIdentified,
    LanguageResult,
    Trace,
)
from pipeline.schemas.copying import constructed
from pipeline.schemas.envelope import DERIVED_NAMESPACE, utc_now
from pipeline.store.base import QueueStore
from pipeline.workers.langid_cache import ResultCache
from pipeline.workers.runner import Stage

DEFAULT_CACHE_SIZE = 50_000
_VERSION = LanguageIdentified.current_version()
_NAMESPACE = DERIVED_NAMESPACE.bytes


def _derived_id(name: str) -> uuid.UUID:
    """``uuid.uuid5(DERIVED_NAMESPACE, name)``, without its per-call import."""
    return uuid.UUID(bytes=hashlib.sha1(_NAMESPACE + name.encode()).digest()[:16], version=5)


def language_result(guess: LanguageGuess) -> LanguageResult:
    return LanguageResult(
        lang=guess.lang,
        confidence=round(guess.confidence, 4),
        reliable=guess.reliable,
        candidates=[
            LanguageCandidate(lang=lang, probability=round(prob, 4))
            for lang, prob in guess.candidates
        ],
        method=guess.method,
        reason=guess.reason,
        mixed=list(guess.mixed),
    )


def identified(
    event: ContributionSubmitted, result: LanguageResult, *, producer: str, detector: str
) -> LanguageIdentified:
    """``event.derive(LanguageIdentified, ...)`` without validating again what is valid.

    The input event, its contribution and ``result`` are validated models; the envelope
    fields are the ones ``derive`` and the defaults give (same derived ``event_id``, trace,
    schema version), so the event serialises byte for byte like the validated one. (The trace
    is validated: for three fields pydantic-core is quicker than ``model_construct``.)
    """
    event_id = str(event.event_id)
    return constructed(
        LanguageIdentified,
        {
            "event_id": _derived_id(f"{event_id}/{producer}/LanguageIdentified/"),
            "type": "LanguageIdentified",
            "schema_version": _VERSION,
            "occurred_at": utc_now(),
            "contribution_id": event.contribution_id,
            "contribution_version": event.contribution_version,
            "trace": Trace(trace_id=event.trace.trace_id, causation_id=event_id, producer=producer),
            "contribution": event.contribution,
            "language": result,
            "detector": detector,
        },
    )


class LangidStage(Stage[ContributionSubmitted]):
    name: ClassVar[str] = "langid"
    inputs: ClassVar[tuple[str, ...]] = ("submitted",)
    accepts: ClassVar[tuple[type, ...]] = (ContributionSubmitted,)
    opens: ClassVar[frozenset[str] | None] = frozenset({"title", "body"})  # never the author

    def __init__(
        self,
        detector: LanguageDetector,
        *,
        detector_id: str = "fasttext-lid.176",
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.detector = detector
        self.detector_id = detector_id
        self.cache: ResultCache[LanguageResult] = ResultCache(cache_size)
        self._context_of: tuple[Settings, dict[str, Any]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore | None = None) -> LangidStage:
        return cls(
            shared_detector(
                settings.target_languages,
                model_path=settings.langid_model_path,
                second_opinion=settings.langid_second_opinion,
                min_letters=settings.langid_min_letters,
            ),
            detector_id="fasttext-lid.176" + ("+lingua" if settings.langid_second_opinion else ""),
            cache_size=settings.langid_cache_size,
        )

    def _context(self, settings: Settings) -> dict[str, Any]:
        """The validation context of ``settings`` (frozen), built once for the settings in use."""
        held = self._context_of
        if held is None or held[0] is not settings:
            held = self._context_of = (
                settings,
                {**settings.validation_context, "require_type": True},
            )
        return held[1]

    def decode(self, value: bytes, settings: Settings) -> Any:
        if len(value) <= settings.max_event_bytes:
            event = ContributionSubmitted.read_json(value, self._context(settings))
            if event is not None:
                return event
        return super().decode(value, settings)  # names what is wrong, or upcasts

    def identify(self, items: Sequence[tuple[str, str | None]]) -> list[LanguageResult]:
        """The language result of each ``(text, hint)``: memo first, the rest in one call."""
        cache = self.cache
        results: list[LanguageResult | None] = [cache.get(text, hint) for text, hint in items]
        todo: dict[tuple[str, str | None], list[int]] = {}
        for i, result in enumerate(results):
            if result is None:
                todo.setdefault(items[i], []).append(i)
        if todo:
            pending = list(todo)
            guesses = self.detector.detect_many(
                [text for text, _ in pending], [hint for _, hint in pending]
            )
            for (text, hint), guess in zip(pending, guesses, strict=True):
                result = language_result(guess)
                cache.put(text, hint, result)
                for i in todo[(text, hint)]:
                    results[i] = result
        return results  # type: ignore[return-value] # every slot is filled above

    def process(self, events: Sequence[ContributionSubmitted]) -> list[LanguageIdentified]:
        results = self.identify(
            [(event.contribution.text, event.contribution.locale_hint) for event in events]
        )
        name, detector = self.name, self.detector_id
        return [
            identified(event, result, producer=name, detector=detector)
            for event, result in zip(events, results, strict=True)
        ]
