"""Routes over the installed pairs: fewest legs, then engine preference, within max legs."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Settings
from pipeline.models.catalog import available_models
from pipeline.models.translation.base import Engine, ModelInfo
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.translator import TranslatorStage
from tests.apertium_check import require_apertium


def model(engine: Engine, model_id: str, *pairs: tuple[str, str]) -> ModelInfo:
    return ModelInfo(
        engine=engine,
        model_id=model_id,
        path=Path("/nonexistent"),
        pairs=frozenset(pairs),
        multi_target=False,
        size_bytes=1,
    )


def stage(tmp_path: Path, models: list[ModelInfo], max_legs: int = 2) -> TranslatorStage:
    store = EmbeddedStore(tmp_path / "store.db")
    return TranslatorStage(store, models, ["en"], max_legs=max_legs)


def ids(routed: object) -> tuple[list[str], list[str]]:
    assert not isinstance(routed, str), routed
    path, models = routed  # type: ignore[misc]
    return path, [m.model_id for m in models]


def test_a_pivot_through_any_language(tmp_path: Path) -> None:
    s = stage(
        tmp_path,
        [model("apertium", "pt-es", ("pt", "es")), model("apertium", "es-en", ("es", "en"))],
    )
    assert ids(s.route("pt", "en")) == (["pt", "es", "en"], ["pt-es", "es-en"])


def test_fewest_legs_then_preferred_engine(tmp_path: Path) -> None:
    models = [
        model("argos", "argos-pt-fr", ("pt", "fr")),
        model("argos", "argos-fr-en", ("fr", "en")),
        model("apertium", "pt-es", ("pt", "es")),
        model("apertium", "es-en", ("es", "en")),
        model("apertium", "pt-en", ("pt", "en")),
        model("apertium", "es-it", ("es", "it")),
    ]
    s = stage(tmp_path, models)
    assert ids(s.route("pt", "en")) == (["pt", "en"], ["pt-en"])  # one leg beats two
    assert ids(s.route("pt", "it")) == (["pt", "es", "it"], ["pt-es", "es-it"])
    s = stage(tmp_path, [m for m in models if m.model_id != "pt-en"])
    assert ids(s.route("pt", "en")) == (["pt", "fr", "en"], ["argos-pt-fr", "argos-fr-en"])


def test_a_neural_model_is_preferred_for_the_same_pair(tmp_path: Path) -> None:
    neural, rules = (
        model("argos", "argos-en-es", ("en", "es")),
        model("apertium", "eng-spa", ("en", "es")),
    )
    assert ids(stage(tmp_path, [neural, rules]).route("en", "es"))[1] == ["argos-en-es"]


def test_no_route_within_max_legs(tmp_path: Path) -> None:
    models = [model("apertium", "a", ("pt", "es")), model("apertium", "b", ("es", "ca")),
              model("apertium", "c", ("ca", "en"))]  # fmt: skip
    assert ids(stage(tmp_path, models, max_legs=3).route("pt", "en"))[0] == ["pt", "es", "ca", "en"]
    assert stage(tmp_path, models).route("pt", "en") == (
        "no model for pt→en and no route through other languages within 2 legs"
    )
    assert stage(tmp_path, models, max_legs=1).route("pt", "en") == "no model for pt→en"


def test_engines_setting_orders_and_filters(tmp_path: Path) -> None:
    require_apertium()
    on = Settings(data_dir=tmp_path, translation_engines=["argos", "apertium"])
    assert any(m.engine == "apertium" for m in available_models(on))
    off = Settings(data_dir=tmp_path, translation_engines=["argos", "transformers"])
    assert available_models(off) == []
