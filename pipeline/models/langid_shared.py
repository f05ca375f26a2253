"""One language detector per process for each configuration.

Building a :class:`LanguageDetector` loads lid.176, lingua's models for every configured
language and the word-frequency lexicon: seconds of CPU and hundreds of MB. The langid
worker, the Coral adapter and ``hemicycle detect`` ask for theirs here, so a process that
runs several of them (``hemicycle demo``, ``hemicycle serve``, a test session) loads each
configuration once. ``detect`` only reads the detector's state (see its docstring), so one
instance serves every thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from pipeline.models.langid import LanguageDetector

_lock = threading.Lock()
_detectors: dict[tuple[object, ...], LanguageDetector] = {}


def shared_detector(
    languages: Iterable[str],
    *,
    model_path: Path | None = None,
    second_opinion: bool = True,
    min_letters: int = 20,
) -> LanguageDetector:
    """The process's detector for this configuration, built on first use.

    A configuration the constructor refuses (an unknown language code) raises its
    ``ValueError`` on every call and is never cached.
    """
    key = (tuple(languages), model_path, second_opinion, min_letters)
    with _lock:
        detector = _detectors.get(key)
        if detector is None:
            detector = _detectors[key] = LanguageDetector(
                key[0],
                model_path=model_path,
                second_opinion=second_opinion,
                min_letters=min_letters,
            )
        return detector
