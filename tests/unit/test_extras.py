"""A feature whose optional packages are missing names the extra to install (pipeline.extras)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.extras import EXTRAS, MissingExtra, installed, require
from pipeline.models.translation.base import ModelInfo
from pipeline.models.translation.registry import load_backend, require_engine


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``modules`` unimportable for this test, as in an install without their extra."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_a_missing_module_names_the_extra_and_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "torch")
    with pytest.raises(MissingExtra) as caught:
        require("score", "the scorer")
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value) == (
        """the scorer needs the "score" extra: pip install 'hemicycle[score]' """
        "(no module named 'torch')"
    )
    assert (caught.value.extra, caught.value.module) == ("score", "torch")
    assert not installed("score")


def test_installed_modules_pass_and_only_the_named_ones_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "kafka")
    require("redis", "HEMICYCLE_STORE=redis")
    assert installed("redis")
    require("kafka", "a codec", "zstandard")
    with pytest.raises(MissingExtra, match='"kafka" extra'):
        require("kafka", "HEMICYCLE_BUS=kafka")


def test_every_extra_is_declared_in_pyproject() -> None:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    for extra in (*EXTRAS, "all"):
        assert f"\n{extra} = [" in text


def test_an_unknown_extra_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        require("gpu", "something")


def test_a_translation_engine_names_the_translate_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _hide(monkeypatch, "ctranslate2")
    with pytest.raises(MissingExtra, match='the argos translation engine needs the "translate"'):
        require_engine("argos")
    info = ModelInfo(
        engine="argos",
        model_id="argos:de_en-1.0",
        path=tmp_path,
        pairs=frozenset({("de", "en")}),
        multi_target=False,
        size_bytes=0,
    )
    with pytest.raises(MissingExtra):
        load_backend(info)
    require_engine("apertium")  # a system tool: no Python extra


def test_the_bus_and_the_store_name_their_extras(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipeline.bus import open_bus
    from pipeline.store import open_store

    _hide(monkeypatch, "kafka", "redis")
    base = {"data_dir": tmp_path}
    with pytest.raises(MissingExtra, match='HEMICYCLE_BUS=kafka needs the "kafka" extra'):
        open_bus(Settings(bus="kafka", **base))
    with pytest.raises(MissingExtra, match='HEMICYCLE_STORE=redis needs the "redis" extra'):
        open_store(Settings(store="redis", **base))


def test_the_scorer_without_torch_runs_spam_only_or_names_the_extra_for_a_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipeline.workers.scorer import ScorerStage

    _hide(monkeypatch, "torch")
    stage = ScorerStage.from_settings(Settings(data_dir=tmp_path))
    assert stage.toxicity is None
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"")
    configured = Settings(
        data_dir=tmp_path, toxicity_checkpoint=checkpoint, toxicity_config_dir=tmp_path
    )
    with pytest.raises(MissingExtra, match='the scorer needs the "score" extra'):
        ScorerStage.from_settings(configured)
