"""The core installs into a fresh virtualenv without torch, transformers, detoxify, CTranslate2,
kafka-python or redis, runs language identification and the demo, and names the extra a
feature needs when it is asked for.

The virtualenv is built once for the module (``python -m venv``, no system site packages) and
the core installed into it with its real dependencies (pip's cache and index as configured),
from a wheel built from a copy of the package sources so that the build leaves nothing in the
working tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import WITH_LINGUA, base_env

pytestmark = pytest.mark.slow

# Import names of what only the extras bring.
EXTRAS_ONLY = (
    "torch",
    "transformers",
    "detoxify",
    "ctranslate2",
    "sentencepiece",
    "kafka",
    "redis",
)
SOURCES = ("pyproject.toml", "README.md", "pipeline", "moderator_ui")


@pytest.fixture(scope="module")
def lean_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a fresh virtualenv holding only the core.

    The core is built into a wheel (as it is published) and installed with its dependencies
    by this environment's pip into a virtualenv made without pip of its own (``--python``):
    the same packages land as with the virtualenv's own pip, without paying for ``ensurepip``
    and an isolated build environment on every run."""
    root = tmp_path_factory.mktemp("lean")
    source = root / "src"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    wheels = root / "dist"
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source))
    wheel = next(wheels.glob("hemicycle-*.whl"))
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-compile", str(wheel))
    return venv / "bin"


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def _env(**settings: str) -> dict[str, str]:
    env = base_env(**WITH_LINGUA, **settings)  # the core as it ships, lingua included
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


def _hemicycle(
    lean_bin: Path, cwd: Path, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = _env(HEMICYCLE_DATA_DIR=str(cwd / "data"), **settings)
    return subprocess.run(
        [str(lean_bin / "hemicycle"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_extras_packages_are_not_installed(lean_bin: Path, tmp_path: Path) -> None:
    python = str(lean_bin / "python")
    torch = subprocess.run(
        [python, "-c", "import torch"], cwd=tmp_path, capture_output=True, text=True, env=_env()
    )
    assert torch.returncode != 0
    assert "No module named 'torch'" in torch.stderr
    probe = (
        "import importlib.util, json, sys;"
        "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m)]))"
    )
    found = subprocess.run(
        [python, "-c", probe, *EXTRAS_ONLY],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    assert json.loads(found.stdout) == []


def test_detect_identifies_languages(lean_bin: Path, tmp_path: Path) -> None:
    rows = [
        {"id": "de", "text": "Wir brauchen mehr Nachtzüge zwischen den Hauptstädten Europas."},
        {"id": "pl", "text": "Potrzebujemy więcej połączeń kolejowych między miastami."},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    done = _hemicycle(lean_bin, tmp_path, "detect", str(source))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["lang"] for line in done.stdout.splitlines()] == ["de", "pl"]


def test_the_demo_runs_to_the_end_and_names_the_missing_extras(
    lean_bin: Path, tmp_path: Path
) -> None:
    done = _hemicycle(lean_bin, tmp_path, "demo", "--until-idle")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Identified 126 contributions" in done.stdout
    assert "auto_hidden" in done.stdout  # spam signals still run without a toxicity model
    assert "pip install 'hemicycle[score]'" in done.stdout
    assert "pip install 'hemicycle[translate]'" in done.stdout
    assert "Traceback" not in done.stderr


def _refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, done.stderr[-4000:]
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def _toxicity_model(folder: Path) -> dict[str, str]:
    """Settings naming a toxicity checkpoint and config directory (empty: never loaded)."""
    checkpoint = folder / "model.ckpt"
    checkpoint.write_bytes(b"")
    (folder / "xlm-r").mkdir()
    return {
        "HEMICYCLE_TOXICITY_CHECKPOINT": str(checkpoint),
        "HEMICYCLE_TOXICITY_CONFIG_DIR": str(folder / "xlm-r"),
    }


def test_a_configured_toxicity_model_asks_for_the_score_extra(
    lean_bin: Path, tmp_path: Path
) -> None:
    model = _toxicity_model(tmp_path)
    done = _hemicycle(lean_bin, tmp_path, "run", "--worker", "scorer", "--until-idle", **model)
    _refused(done, """the scorer needs the "score" extra: pip install 'hemicycle[score]'""")


def test_models_list_names_the_extra_a_configured_toxicity_model_needs(
    lean_bin: Path, tmp_path: Path
) -> None:
    model = _toxicity_model(tmp_path)
    done = _hemicycle(lean_bin, tmp_path, "models", "list", **model)
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"toxicity: {model['HEMICYCLE_TOXICITY_CHECKPOINT']} cannot be used" in done.stdout
    assert """the "score" extra is not installed (pip install 'hemicycle[score]')""" in done.stdout


def test_an_installed_argos_model_asks_for_the_translate_extra(
    lean_bin: Path, tmp_path: Path
) -> None:
    package = tmp_path / "data" / "models" / "translate-de_en"
    (package / "model").mkdir(parents=True)
    (package / "model" / "model.bin").write_bytes(b"")
    (package / "sentencepiece.model").write_bytes(b"")
    meta = {"type": "translate", "from_code": "de", "to_code": "en", "package_version": "1.0"}
    (package / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    done = _hemicycle(lean_bin, tmp_path, "run", "--worker", "translator", "--until-idle")
    _refused(
        done,
        """the argos translation engine needs the "translate" extra: """
        "pip install 'hemicycle[translate]'",
    )


@pytest.mark.parametrize(
    ("setting", "value", "extra"),
    [("HEMICYCLE_BUS", "kafka", "kafka"), ("HEMICYCLE_STORE", "redis", "redis")],
)
def test_a_production_backend_asks_for_its_extra(
    lean_bin: Path, tmp_path: Path, setting: str, value: str, extra: str
) -> None:
    done = _hemicycle(
        lean_bin, tmp_path, "run", "--worker", "triage", "--until-idle", **{setting: value}
    )
    _refused(
        done, f"""{setting}={value} needs the "{extra}" extra: pip install 'hemicycle[{extra}]'"""
    )
