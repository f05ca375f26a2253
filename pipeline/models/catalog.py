"""Every translation model this machine offers, in the configured engine preference.

Model directories (argos, transformers) under ``HEMICYCLE_MODELS_DIR`` and the installed
Apertium pairs, filtered and ordered by ``HEMICYCLE_TRANSLATION_ENGINES``: when two models
translate the same pair, the one whose engine comes first is used (neural before rule-based
by default).
"""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.models.apertium import list_apertium_models
from pipeline.models.translation.base import ModelInfo
from pipeline.models.translation.discovery import list_models


def available_models(settings: Settings) -> list[ModelInfo]:
    """Installed models of the enabled engines, most preferred engine first."""
    engines = settings.translation_engines
    found = list_models(settings.resolved_models_dir)
    if "apertium" in engines:
        found += list_apertium_models(settings.apertium_modes_dir)
    chosen = [m for m in found if m.engine in engines]
    return sorted(chosen, key=lambda m: engines.index(m.engine))
