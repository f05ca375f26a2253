"""A campaign across languages in the moderator UI: languages, authors, one bulk action."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueStore
from tests.conftest import contribution
from tests.unit.test_ui_endpoints import PASSWORD, csrf, log_in

NOW = datetime(2026, 11, 21, tzinfo=UTC)
LANGUAGES = ("es", "pt", "it", "fr", "ro")


def member(n: int, lang: str, cluster: str | None) -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(n, author=f"acct-{n}")),
        state="needs_review",
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="t"),
        submitted_at=NOW,
        updated_at=NOW,
        cluster_id=cluster,
        cluster_size=5 if cluster else 0,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store: QueueStore = app.state.context.store
    Accounts(store).add("moderator", "moderator", PASSWORD)
    for n, lang in enumerate(LANGUAGES, start=1):
        store.save(member(n, lang, "m-1234abcd"), event_id=f"seed-{n}", expected_revision=0)
    store.save(member(6, "es", None), event_id="seed-6", expected_revision=0)
    with TestClient(app) as test_client:
        yield test_client


def test_a_campaign_shows_its_languages_and_authors_and_is_rejected_at_once(
    client: TestClient,
) -> None:
    log_in(client, "moderator")
    page = client.get("/items/decidim-test:c-1").text
    assert "Campaign across languages" in page
    assert "5 items in es, fr, it, pt, ro, by 5 authors" in page
    assert "campaign \u00d75" in client.get("/queue/rows").text
    other = client.get("/items/decidim-test:c-6").text
    assert "Campaign across languages" not in other and "Near-duplicates" in other
    bulk = {
        "decision": "reject",
        "reason_code": "spam",
        "cluster": "m-1234abcd",
        "idempotency_key": "bulk-campaign-1",
    }
    done = client.post("/api/bulk", json=bulk, headers={"X-CSRF-Token": csrf(client)}).json()
    assert sorted(done["decided"]) == [f"decidim-test:c-{n}" for n in range(1, 6)]
