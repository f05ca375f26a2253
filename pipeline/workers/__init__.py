"""Pipeline stages. Each module is a function from input events to output events."""

from __future__ import annotations

import importlib
from typing import Any, cast

from pipeline.config import Settings
from pipeline.store.base import QueueStore
from pipeline.workers.runner import Stage

# Worker name → "module:class", in pipeline order.
_STAGES: dict[str, str] = {
    "langid": "pipeline.workers.langid:LangidStage",
    "translator": "pipeline.workers.translator:TranslatorStage",
    "scorer": "pipeline.workers.scorer:ScorerStage",
    "triage": "pipeline.workers.triage:TriageStage",
    "delivery": "pipeline.workers.delivery:DeliveryStage",
}
# Workers that need configuration of their own, started only when named
# (`hemicycle run --worker delivery`, as their own process: a platform that is down must not
# hold back the other stages). Without HEMICYCLE_WEBHOOKS_FILE there is nowhere to deliver to.
OPTIONAL_WORKERS: tuple[str, ...] = ("delivery",)
# The workers `hemicycle run` starts by default (and `demo`, status, deployments iterate).
WORKER_NAMES: tuple[str, ...] = tuple(name for name in _STAGES if name not in OPTIONAL_WORKERS)
# Every worker `hemicycle run --worker NAME` accepts.
ALL_WORKERS: tuple[str, ...] = tuple(_STAGES)


def default_workers(settings: Settings) -> tuple[str, ...]:
    """The workers a deployment runs (what `hemicycle status` reports): the core workers, plus
    delivery when ``HEMICYCLE_WEBHOOKS_FILE`` is set."""
    if settings.webhooks_file is not None:
        return (*WORKER_NAMES, "delivery")
    return WORKER_NAMES


def stage_class(name: str) -> type[Stage[Any]]:
    try:
        module, cls = _STAGES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown worker {name!r}; choose from {', '.join(ALL_WORKERS)}") from None
    return cast("type[Stage[Any]]", getattr(importlib.import_module(module), cls))


def build_stage(name: str, settings: Settings, store: QueueStore) -> Stage[Any]:
    """Instantiate the stage called ``name`` (one of :data:`ALL_WORKERS`)."""
    return stage_class(name).from_settings(settings, store)
