"""Queue stores: one interface (:mod:`pipeline.store.base`), embedded and Redis implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.store.base import QueueStore, SaveResult, StoreError

if TYPE_CHECKING:
    from pipeline.config import Settings

__all__ = ["QueueStore", "SaveResult", "StoreError", "open_store"]


def open_store(settings: Settings) -> QueueStore:
    """The store named by ``HEMICYCLE_STORE``."""
    if settings.store == "redis":
        from pipeline.extras import require

        require("redis", "HEMICYCLE_STORE=redis")
        from pipeline.store.redis import RedisStore

        return RedisStore(
            settings.redis_url.get_secret_value(),
            key_prefix=settings.redis_key_prefix,
            connect_timeout_s=settings.redis_connect_timeout_s,
            down_s=settings.backend_down_s,
        )
    from pipeline.store.embedded import EmbeddedStore

    return EmbeddedStore(settings.data_dir / "store.sqlite3")
