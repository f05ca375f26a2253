"""Personal data in a log of record: sealed fields, data keys, erasure.

``sealer_for(settings, store)`` is what every writer and reader of events uses: a
:class:`~pipeline.privacy.sealing.Sealer` when ``HEMICYCLE_PERSONAL_DATA_PROTECTION`` is on
(the default), else a pass-through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.config import Settings
from pipeline.privacy.keyring import Keyring
from pipeline.privacy.sealing import ERASED_TEXT, Sealer, SealError
from pipeline.store.base import QueueStore

__all__ = ["ERASED_TEXT", "Keyring", "SealError", "Sealer", "Unsealed", "sealer_for"]


class Unsealed:
    """Protection off: events are written and read as they are."""

    def seal(self, event: Any) -> Any:
        return event

    def seal_many(self, events: Sequence[Any]) -> list[Any]:
        return list(events)

    def open(self, event: Any, fields: frozenset[str] | None = None) -> Any:
        return event

    def open_many(self, events: Iterable[Any], fields: frozenset[str] | None = None) -> list[Any]:
        return list(events)


def sealer_for(settings: Settings, store: QueueStore) -> Sealer | Unsealed:
    if not settings.personal_data_protection:
        return Unsealed()
    return Sealer(Keyring(store))
