"""Translation backends on a tiny MarianMT trained at test time and its argos (CT2) package."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pipeline.models.translation.base import ModelInfo, TranslationBackend, TranslationModelError
from pipeline.models.translation.discovery import list_models, read_model
from pipeline.models.translation.install import install_model
from pipeline.models.translation.registry import load_backend
from tests.translation_models import (
    HELD_OUT,
    NLLB_LANGUAGES,
    build_tiny_nllb,
)

LONG_TEXT = " ".join(["The dog likes the book today."] * 120)


@pytest.fixture(scope="module")
def marian_dir(tiny_marian: Path) -> Path:
    return tiny_marian


@pytest.fixture(scope="module")
def argos_archive(argos_package: Path) -> Path:
    return argos_package


@pytest.fixture(scope="module")
def argos_dir(argos_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("argos_unzipped")
    with zipfile.ZipFile(argos_archive) as zf:
        zf.extractall(out)
    (top,) = out.iterdir()
    return top


@pytest.fixture(scope="module")
def hf_backend(marian_dir: Path) -> TranslationBackend:
    return load_backend(read_model(marian_dir), device="cpu", beam_size=2)


@pytest.fixture(scope="module")
def argos_backend(argos_dir: Path) -> TranslationBackend:
    return load_backend(read_model(argos_dir), device="cpu", beam_size=2)


def _items(texts: list[str]) -> list[tuple[str, str, str]]:
    return [(text, "en", "de") for text in texts]


def test_read_model_infos(marian_dir: Path, argos_dir: Path) -> None:
    hf = read_model(marian_dir)
    assert hf.engine == "transformers"
    assert hf.model_id == "transformers:opus-mt-tiny-en-de"
    assert hf.pairs == frozenset({("en", "de")})
    assert not hf.multi_target
    assert hf.size_bytes > 0
    argos = read_model(argos_dir)
    assert argos.engine == "argos"
    assert argos.model_id == "argos:en_de-1.0"
    assert argos.pairs == frozenset({("en", "de")})
    assert argos.size_bytes > 0


def test_transformers_translates_held_out_exactly(hf_backend: TranslationBackend) -> None:
    assert hf_backend.device == "cpu"
    out = hf_backend.translate(_items([src for src, _ in HELD_OUT]))
    assert out == [tgt for _, tgt in HELD_OUT]


def test_argos_translates_held_out_exactly(
    argos_backend: TranslationBackend, hf_backend: TranslationBackend
) -> None:
    assert argos_backend.device == "cpu"
    items = _items([src for src, _ in HELD_OUT])
    out = argos_backend.translate(items)
    assert out == [tgt for _, tgt in HELD_OUT]
    assert out == hf_backend.translate(items)


@pytest.mark.parametrize("which", ["hf", "argos"])
def test_batch_order_and_blank_texts(
    which: str, hf_backend: TranslationBackend, argos_backend: TranslationBackend
) -> None:
    backend = hf_backend if which == "hf" else argos_backend
    # Mixed lengths (the backends sort by length internally) and blanks interleaved.
    texts = [
        "",
        HELD_OUT[0][0],
        "   ",
        HELD_OUT[3][0] + " " + HELD_OUT[4][0],
        "\n\t",
        HELD_OUT[1][0],
    ]
    out = backend.translate(_items(texts))
    assert len(out) == len(texts)
    assert out[0] == out[2] == out[4] == ""
    assert out[1] == HELD_OUT[0][1]
    assert out[5] == HELD_OUT[1][1]
    assert out[3]
    # Reversed input gives reversed output.
    assert backend.translate(_items(texts[::-1])) == out[::-1]
    assert backend.translate(_items(["", " "])) == ["", ""]
    assert backend.translate([]) == []


@pytest.mark.parametrize("which", ["hf", "argos"])
def test_long_input_is_truncated(
    which: str, hf_backend: TranslationBackend, argos_backend: TranslationBackend
) -> None:
    backend = hf_backend if which == "hf" else argos_backend
    assert backend.count_tokens(LONG_TEXT, "en") > 256
    out = backend.translate(_items([LONG_TEXT, HELD_OUT[2][0]]))
    assert isinstance(out[0], str) and out[0]
    assert out[1] == HELD_OUT[2][1]


@pytest.mark.parametrize("which", ["hf", "argos"])
def test_count_tokens(
    which: str, hf_backend: TranslationBackend, argos_backend: TranslationBackend
) -> None:
    backend = hf_backend if which == "hf" else argos_backend
    short = backend.count_tokens("The dog likes the book.", "en")
    longer = backend.count_tokens("The dog likes the book today. The cat sees the car now.", "en")
    assert 0 < short < longer
    assert backend.count_tokens("  ", "en") == 0


@pytest.mark.parametrize("which", ["hf", "argos"])
def test_wrong_pair_refused(
    which: str, hf_backend: TranslationBackend, argos_backend: TranslationBackend
) -> None:
    backend = hf_backend if which == "hf" else argos_backend
    with pytest.raises(TranslationModelError, match="de->en"):
        backend.translate([("Der Hund.", "de", "en")])
    with pytest.raises(TranslationModelError, match="one pair"):
        backend.translate([("The dog.", "en", "de"), ("The dog.", "en", "fr")])


def test_install_and_list(marian_dir: Path, argos_archive: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    argos = install_model(argos_archive, models)
    hf = install_model(marian_dir, models)
    assert argos.path.parent == models and hf.path.parent == models
    listed = {m.model_id: m for m in list_models(models)}
    assert set(listed) == {"argos:en_de-1.0", "transformers:opus-mt-tiny-en-de"}
    for info, engine in ((argos, "argos"), (hf, "transformers")):
        got = listed[info.model_id]
        assert got == info
        assert got.engine == engine
        assert got.pairs == frozenset({("en", "de")})
        assert got.size_bytes > 0
    assert not [p for p in models.iterdir() if p.name.startswith(".")]  # no staging left

    with pytest.raises(TranslationModelError, match="already installed"):
        install_model(argos_archive, models)
    with pytest.raises(TranslationModelError, match="already installed"):
        install_model(marian_dir, models)
    assert len(list_models(models)) == 2

    # The installed copies load and translate.
    src, tgt = HELD_OUT[5]
    assert load_backend(listed["argos:en_de-1.0"], device="cpu").translate(_items([src])) == [tgt]


def test_install_argos_dir_and_name_inference(
    argos_dir: Path, marian_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert install_model(argos_dir, models).model_id == "argos:en_de-1.0"
    # A Marian dir without hemicycle.json: the pair comes from the opus-mt-xx-yy name and is
    # pinned into the installed copy.
    bare = tmp_path / "src" / "opus-mt-tiny-en-de"
    shutil.copytree(marian_dir, bare)
    (bare / "hemicycle.json").unlink()
    info = install_model(bare, models)
    assert info.pairs == frozenset({("en", "de")})
    assert json.loads((info.path / "hemicycle.json").read_text())["name"] == "opus-mt-tiny-en-de"
    unnamed = tmp_path / "src" / "my-model"
    shutil.copytree(bare, unnamed)
    with pytest.raises(TranslationModelError, match="my-model"):
        read_model(unnamed)


def test_broken_dirs(
    tmp_path: Path, marian_dir: Path, argos_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "models" / "empty"
    empty.mkdir(parents=True)
    with pytest.raises(TranslationModelError, match=re.escape(str(empty))):
        read_model(empty)
    with pytest.raises(TranslationModelError, match="not found"):
        read_model(tmp_path / "missing")

    no_weights = tmp_path / "models" / "no-weights"
    shutil.copytree(marian_dir, no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(TranslationModelError, match=re.escape(str(no_weights))):
        read_model(no_weights)

    no_model = tmp_path / "models" / "argos-no-model"
    shutil.copytree(argos_dir, no_model)
    shutil.rmtree(no_model / "model")
    with pytest.raises(TranslationModelError, match=re.escape(str(no_model))):
        read_model(no_model)

    bad_meta = tmp_path / "models" / "argos-bad-meta"
    shutil.copytree(argos_dir, bad_meta, ignore=shutil.ignore_patterns("model.bin"))
    (bad_meta / "metadata.json").write_text("{not json")
    with pytest.raises(TranslationModelError, match=re.escape(str(bad_meta))):
        read_model(bad_meta)

    with caplog.at_level("WARNING"):
        assert list_models(tmp_path / "models") == []
    assert str(empty) in {getattr(record, "path", None) for record in caplog.records}

    with pytest.raises(TranslationModelError, match="not found"):
        install_model(tmp_path / "nope.argosmodel", tmp_path / "models")
    junk = tmp_path / "junk.argosmodel"
    junk.write_bytes(b"not a zip")
    with pytest.raises(TranslationModelError, match=r"junk\.argosmodel"):
        install_model(junk, tmp_path / "installed")
    with pytest.raises(TranslationModelError, match="broken"):
        install_model(_zip_of(tmp_path / "broken", tmp_path / "broken.argosmodel"), tmp_path / "i")


def _zip_of(folder: Path, archive: Path) -> Path:
    """A zip with one top-level folder that is not a model."""
    folder.mkdir()
    (folder / "README").write_text("nothing here")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "README", f"{folder.name}/README")
    return archive


def test_model_info_languages_default() -> None:
    info = ModelInfo(
        engine="argos",
        model_id="argos:en_de-1.0",
        path=Path("/x"),
        pairs=frozenset({("en", "de")}),
        multi_target=False,
        size_bytes=1,
    )
    assert info.languages == frozenset({"en", "de"})


def test_many_to_many_mixed_targets(tmp_path: Path) -> None:
    """NLLB-style: per-item target token, mixed targets in one batch, input order kept."""
    info = read_model(build_tiny_nllb(tmp_path / "nllb-tiny"))
    assert info.engine == "transformers" and info.multi_target
    assert info.languages == frozenset(NLLB_LANGUAGES)
    assert ("de", "fr") in info.pairs and len(info.pairs) == 6
    backend = load_backend(info, device="cpu", beam_size=1)
    forced: list[int | None] = []
    generate = backend.model.generate  # type: ignore[attr-defined]

    def recording_generate(*args: object, **kwargs: object) -> object:
        forced.append(kwargs.get("forced_bos_token_id"))  # type: ignore[arg-type]
        return generate(*args, **kwargs)

    backend.model.generate = recording_generate  # type: ignore[attr-defined]
    items = [
        ("The dog likes the book.", "en", "de"),
        ("The cat sees the car.", "en", "fr"),
        ("  ", "en", "fr"),
        ("Der Hund mag das Buch.", "de", "en"),
        ("The horse has the ball.", "en", "de"),
    ]
    mixed = backend.translate(items)
    tok = backend.tokenizer  # type: ignore[attr-defined]
    ids = {code: tok.convert_tokens_to_ids(token) for code, token in NLLB_LANGUAGES.items()}
    assert sorted(forced) == sorted([ids["de"], ids["fr"], ids["en"]])
    assert mixed[2] == ""
    # Same as translating each (source, target) group on its own (same padding, so exact).
    regrouped = [""] * len(items)
    for pair in {(src, tgt) for _text, src, tgt in items}:
        idx = [i for i, (_t, src, tgt) in enumerate(items) if (src, tgt) == pair]
        for i, text in zip(idx, backend.translate([items[i] for i in idx]), strict=True):
            regrouped[i] = text
    assert mixed == regrouped
    assert any(mixed)
    with pytest.raises(TranslationModelError, match="en->es"):
        backend.translate([("The dog.", "en", "es")])
    assert backend.count_tokens("The dog.", "en") > 0
