"""Optional features and the pip extras that bring them (``pip install 'hemicycle[score]'``).

The core (language identification, the embedded bus and store, policy, the moderator UI and the
platform API) needs none of these. A feature that does calls :func:`require` where it loads,
before importing the packages: a missing one raises :class:`MissingExtra`, a
:class:`~pipeline.config.ConfigError`, so the command line prints its one-line message and exits
with the usage code (2) instead of a traceback. :func:`installed` asks without importing, for a
feature that degrades ("no model") instead of failing.
"""

from __future__ import annotations

import importlib
import importlib.util

from pipeline.config import ConfigError

__all__ = ["EXTRAS", "MissingExtra", "install_hint", "installed", "require"]

# The modules each extra provides that its features cannot start without (import names, not
# distribution names); pyproject.toml's [project.optional-dependencies] lists the distributions
# (``score`` also brings ctranslate2, its default CPU engine, without which the scorer runs
# torch float32, and onnx and onnxruntime, needed only by the ONNX toxicity backends).
EXTRAS: dict[str, tuple[str, ...]] = {
    "score": ("torch", "transformers", "sentencepiece", "detoxify"),
    "translate": ("ctranslate2", "sentencepiece", "torch", "transformers"),
    "kafka": ("kafka", "zstandard", "lz4", "snappy"),
    "redis": ("redis",),
}


def install_hint(extra: str) -> str:
    return f"pip install 'hemicycle[{extra}]'"


class MissingExtra(ConfigError):
    """A feature was asked for whose optional packages are not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.feature = feature
        self.extra = extra
        self.module = module
        super().__init__(
            f'{feature} needs the "{extra}" extra: {install_hint(extra)} '
            f"(no module named {module!r})"
        )


def _module_present(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def installed(extra: str, *modules: str) -> bool:
    """Whether ``modules`` (default: all of ``extra``'s) are importable; imports nothing."""
    return all(_module_present(name) for name in modules or EXTRAS[extra])


def require(extra: str, feature: str, *modules: str) -> None:
    """Import ``modules`` (default: all of ``extra``'s) or raise :class:`MissingExtra`.

    ``feature`` opens the message: ``require("score", "the scorer")`` → ``the scorer needs the
    "score" extra: pip install 'hemicycle[score]' (no module named 'torch')``. A module that is
    installed but fails to import for another reason raises as it is.
    """
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}")
    for name in modules or EXTRAS[extra]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            missing = exc.name or name
            if missing.split(".")[0] != name.split(".")[0] and _module_present(name):
                raise  # the module is there; something it needs is not: show that as it is
            raise MissingExtra(feature, extra, missing) from None
