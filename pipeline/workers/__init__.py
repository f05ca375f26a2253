"""Pipeline stages. Each module is a function from input events to output events."""

from __future__ import annotations

import importlib

from pipeline.config import Settings
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Stage

# Worker name → "module:class", in pipeline order.
_STAGES: dict[str, str] = {
    "langid": "pipeline.workers.langid:LangidStage",
    "translator": "pipeline.workers.translator:TranslatorStage",
    "scorer": "pipeline.workers.scorer:ScorerStage",
    "triage": "pipeline.workers.triage:TriageStage",
}
WORKER_NAMES: tuple[str, ...] = tuple(_STAGES)


def stage_class(name: str) -> type[Stage]:
    try:
        module, cls = _STAGES[name].split(":")
    except KeyError:
        raise ValueError(
            f"unknown worker {name!r}; choose from {', '.join(WORKER_NAMES)}"
        ) from None
    return getattr(importlib.import_module(module), cls)


def build_stage(name: str, settings: Settings, store: QueueStore) -> Stage:
    """Instantiate the stage called ``name`` (one of :data:`WORKER_NAMES`)."""
    return stage_class(name).from_settings(settings, store)
