"""langid: ContributionSubmitted → LanguageIdentified (fastText, with a second opinion)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import Settings
from pipeline.models.langid import LanguageDetector, LanguageGuess
from pipeline.schemas import (
    ContributionSubmitted,
    LanguageCandidate,
    LanguageIdentified,
    LanguageResult,
)
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Stage


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


class LangidStage(Stage):
    name: ClassVar[str] = "langid"
    inputs: ClassVar[tuple[str, ...]] = ("submitted",)
    accepts: ClassVar[tuple[type, ...]] = (ContributionSubmitted,)

    def __init__(
        self, detector: LanguageDetector, *, detector_id: str = "fasttext-lid.176"
    ) -> None:
        self.detector = detector
        self.detector_id = detector_id

    @classmethod
    def from_settings(cls, settings: Settings, store: QueueStore | None = None) -> LangidStage:
        return cls(
            LanguageDetector(
                settings.target_languages,
                model_path=settings.langid_model_path,
                second_opinion=settings.langid_second_opinion,
                min_letters=settings.langid_min_letters,
            ),
            detector_id="fasttext-lid.176" + ("+lingua" if settings.langid_second_opinion else ""),
        )

    def process(self, events: Sequence[ContributionSubmitted]) -> list[LanguageIdentified]:
        guesses = self.detector.detect_many(
            [event.contribution.text for event in events],
            [event.contribution.locale_hint for event in events],
        )
        return [
            event.derive(
                LanguageIdentified,
                producer=self.name,
                contribution=event.contribution,
                language=language_result(guess),
                detector=self.detector_id,
            )
            for event, guess in zip(events, guesses, strict=True)
        ]
