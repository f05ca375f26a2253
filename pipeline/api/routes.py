"""The platform API's routers, mounted next to the moderator UI by ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter

from pipeline.api.context import AppContext


def platform_routers(context: AppContext) -> list[APIRouter]:
    """Every router of the platform API (ingest, adapters, health), bound to ``context``."""
    return []
