"""The Apertium backend: pair discovery, markup-safe stream format, real output, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models.apertium import (
    MODES_DIR,
    ApertiumBackend,
    from_stream,
    list_apertium_models,
    to_stream,
)
from pipeline.models.translation.base import TranslationModelError
from pipeline.models.translation.registry import load_backend
from tests.apertium_check import require_apertium


def _model(mode: str) -> ApertiumBackend:
    require_apertium()
    [info] = [m for m in list_apertium_models() if m.model_id == f"apertium:{mode}"]
    backend = load_backend(info)
    assert isinstance(backend, ApertiumBackend)
    return backend


def test_markup_and_reserved_characters_travel_verbatim() -> None:
    text = 'Read <a href="https://x.eu/a?b=1">this</a> [1] @mayor #trees a/b \\ ^$ {x} *\nNext'
    stream = to_stream(text)
    assert "\n" not in stream.replace("[\n]", "")
    assert from_stream(stream) == text


def test_marks_apertium_adds_are_dropped() -> None:
    assert from_stream("La *zorblax #casa @grande[ <b>]x[]") == "La zorblax casa grande <b>x"


def test_pairs_are_named_in_iso_639_1(tmp_path: Path) -> None:
    require_apertium()
    modes = tmp_path / "modes"
    modes.mkdir()
    for name in ("eng-spa", "fr-es", "es-pt_BR", "eco-es-fr", "hbs-eng", "eng-hbs_HR", "eng-hbs"):
        (modes / f"{name}.mode").write_text("lt-proc -z 'x'\n")
    found = {m.model_id: m.pairs for m in list_apertium_models(modes)}
    assert found == {
        "apertium:eng-spa": {("en", "es")},
        "apertium:fr-es": {("fr", "es")},
        "apertium:hbs-eng": {("hr", "en"), ("sr", "en"), ("bs", "en")},
        "apertium:eng-hbs_HR": {("en", "hr")},
    }
    assert all(m.engine == "apertium" for m in list_apertium_models(modes))


def test_real_translation_keeps_markup_in_one_process() -> None:
    backend = _model("eng-spa")
    try:
        out = backend.translate(
            [
                ("The city needs more trees.", "en", "es"),
                ("", "en", "es"),
                ("We need <b>more</b> parks.\nSee https://city.example/parks now.", "en", "es"),
            ]
        )
        assert out[0] == "La ciudad necesita más árboles."
        assert out[1] == ""
        assert "<b>" in out[2] and "</b>" in out[2] and "https://city.example/parks" in out[2]
        assert "\n" in out[2] and "parques" in out[2]
        process = backend._process
        assert process is not None
        more = backend.translate([(f"I have {n} trees.", "en", "es") for n in range(50)])
        assert backend._process is process  # the same process served the second batch
        assert len(more) == 50 and all("árboles" in t for t in more)
    finally:
        backend.close()


def test_a_crashed_process_is_restarted() -> None:
    backend = _model("eng-spa")
    try:
        backend.translate([("Good morning.", "en", "es")])
        assert backend._process is not None
        backend._process.kill()
        assert backend.translate([("The city needs more trees.", "en", "es")]) == [
            "La ciudad necesita más árboles."
        ]
    finally:
        backend.close()


def test_a_pair_the_model_lacks_raises() -> None:
    backend = _model("eng-spa")
    with pytest.raises(TranslationModelError):
        backend.translate([("Bonjour.", "fr", "es")])


def test_installed_pairs_are_discovered() -> None:
    require_apertium()
    pairs = {p for m in list_apertium_models(MODES_DIR) for p in m.pairs}
    assert ("en", "es") in pairs and ("es", "en") in pairs


def fake_pair(tmp_path: Path, mode: str, pipeline: str) -> ApertiumBackend:
    """A pair whose mode runs ``pipeline`` (each program gets ``-z`` as Apertium's do)."""
    require_apertium()
    modes = tmp_path / "modes"
    modes.mkdir(exist_ok=True)
    (modes / f"{mode}.mode").write_text(pipeline + "\n")
    [info] = [m for m in list_apertium_models(modes) if m.model_id == f"apertium:{mode}"]
    return ApertiumBackend(info, timeout_s=0.5)


def test_a_pair_that_never_answers_times_out_and_raises(tmp_path: Path) -> None:
    backend = fake_pair(tmp_path, "eng-spa", "grep never-in-the-text")
    with pytest.raises(TranslationModelError, match="no answer"):
        backend.translate([("The city needs more trees.", "en", "es")])
    assert backend._process is None  # killed; the next batch starts afresh


def test_a_pair_that_keeps_crashing_raises(tmp_path: Path) -> None:
    backend = fake_pair(tmp_path, "spa-eng", "false")
    with pytest.raises(TranslationModelError, match="apertium:spa-eng failed"):
        backend.translate([("La ciudad necesita más árboles.", "es", "en")])
