"""One detector per configuration and process, shared by the worker, Coral and ``detect``."""

from __future__ import annotations

import pytest

from pipeline.models.langid_shared import shared_detector


def test_one_configuration_gives_one_detector() -> None:
    first = shared_detector(["en", "de"], second_opinion=False)
    assert shared_detector(("en", "de"), second_opinion=False) is first
    assert first.detect("Wir sollten mehr Bäume entlang des Flusses pflanzen.").lang == "de"


def test_another_configuration_gets_its_own() -> None:
    english_german = shared_detector(["en", "de"], second_opinion=False)
    assert shared_detector(["de", "en"], second_opinion=False) is not english_german
    assert shared_detector(["en", "de"], second_opinion=False, min_letters=5) is not (
        english_german
    )


def test_a_refused_configuration_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="unknown language code"):
            shared_detector(["en", "xx"], second_opinion=False)
