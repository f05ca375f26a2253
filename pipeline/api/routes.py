"""The platform API's routers, mounted next to the moderator UI by ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter

from pipeline.api import (
    appeals,
    coral,
    coral_flags,
    decidim,
    decidim_reports,
    erasures,
    health,
    ingest,
    reports,
    sanctions,
)
from pipeline.api.context import AppContext


def platform_routers(context: AppContext) -> list[APIRouter]:
    """Every router of the platform API (ingest, adapters, health), bound to ``context``.

    * ``/v1/contributions``: generic ingest and status (API keys, see :mod:`.apikeys`);
    * ``/v1/reports``, ``/v1/appeals``, ``/v1/sanctions``: moderation of record (API keys);
    * ``/v1/erasures``: a participant's right to erasure (API keys);
    * ``/v1/decidim/...``: the Decidim adapter (API keys);
    * ``/v1/coral/moderate``: Coral's external moderation phase (signed by Coral);
    * ``/healthz``, ``/readyz``, ``/metrics``: probes and Prometheus (no auth).
    """
    return [
        ingest.router(context),
        reports.router(context),
        appeals.router(context),
        sanctions.router(context),
        erasures.router(context),
        decidim.router(context),
        decidim_reports.router(context),
        coral.router(context),
        coral_flags.router(context),
        health.router(context),
    ]
