"""Shared by the tests of the moderation-of-record endpoints: an app, keys, stored items."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api.apikeys import create_key
from pipeline.api.context import AppContext
from pipeline.config import Settings
from pipeline.schemas import Contribution
from pipeline.schemas.codec import decode_event
from pipeline.schemas.queue import QueueItem
from tests.conftest import contribution

PLATFORM = "decidim-test"
OTHER = "decidim-other"


@dataclass
class Api:
    client: TestClient
    context: AppContext
    settings: Settings
    key: str
    other_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def other_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.other_key}"}

    def post(self, path: str, body: Any, *, other: bool = False) -> Any:
        return self.client.post(path, json=body, headers=self.other_auth if other else self.auth)

    def events(self, topic: str, event_type: str | None = None) -> list[Any]:
        records = self.context.bus.read(self.settings.topic(topic))
        events = [self.context.sealer.open(decode_event(r.value)) for r in records]  # a reader
        return [e for e in events if event_type is None or e.type == event_type]

    def store_item(self, n: int, *, platform: str = PLATFORM, **fields: Any) -> QueueItem:
        """Put an item in the store as triage would have (a real store write)."""
        data = contribution(n, platform=platform)
        at = datetime.fromisoformat(data["created_at"])
        item = QueueItem(
            contribution=Contribution.model_validate(data),
            submitted_at=at,
            updated_at=at,
            **fields,
        )
        self.context.store.save(item, event_id=f"seed-{platform}-{n}", expected_revision=0)
        return item


def open_api(settings: Settings) -> Iterator[Api]:
    context = AppContext(settings)
    key = create_key(context.store, PLATFORM)
    other_key = create_key(context.store, OTHER)
    with TestClient(create_app(settings, context=context)) as client:
        yield Api(client, context, settings, key, other_key)
    context.close()


def fields_of(response: Any) -> set[str]:
    """Every field path an error answer names."""
    return {f["field"] for e in response.json()["errors"] for f in e["fields"]}
