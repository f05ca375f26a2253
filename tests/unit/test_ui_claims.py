"""Claims in the UI: next item, idle release that a renewing tab cannot defeat, saved views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from moderator_ui.claims import Claims, claims_stamp
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery, QueueStore
from tests.conftest import contribution
from tests.unit.test_ui_endpoints import PASSWORD, csrf, log_in

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def queue_item(n: int, lang: str = "pl") -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(n)),
        state="needs_review",
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="t"),
        submitted_at=NOW,
        updated_at=NOW,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app_and_store(settings: Settings) -> Iterator[tuple[TestClient, QueueStore]]:
    settings = settings.model_copy(update={"ui_idle_release_s": 600.0, "ui_lease_ttl_s": 300.0})
    app = create_app(settings)
    store: QueueStore = app.state.context.store
    accounts = Accounts(store)
    for name in ("alice", "bob"):
        accounts.add(name, "moderator", PASSWORD)
    for n in range(1, 5):
        store.save(queue_item(n, "pl" if n < 4 else "de"), event_id=f"s{n}", expected_revision=0)
    with TestClient(app) as client:
        yield client, store


def claims_of(client: TestClient, clock: Clock) -> Claims:
    services = client.app.state.services  # type: ignore[attr-defined]
    return Claims(services.review, services.audit, clock=clock)


def test_a_renewing_tab_loses_an_idle_claim(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, store = app_and_store
    clock = Clock()
    claims = claims_of(client, clock)
    cid = "decidim-test:c-1"
    assert claims.claim(cid, "alice") == "alice"
    clock.now += 500
    assert claims.renew(cid, "alice", active=False).holder == "alice"  # not idle long enough
    clock.now += 200  # 700 s since the last key or click, renewed all along
    renewal = claims.renew(cid, "alice", active=False)
    assert renewal.idle_released and renewal.holder is None
    assert store.lease_holder(cid) is None
    assert claims.claim(cid, "bob") == "bob"


def test_an_interaction_keeps_the_claim(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, store = app_and_store
    clock = Clock()
    claims = claims_of(client, clock)
    cid = "decidim-test:c-2"
    claims.claim(cid, "alice")
    for _ in range(5):
        clock.now += 500
        assert claims.renew(cid, "alice", active=True).holder == "alice"
    clock.now += 500
    assert not claims.renew(cid, "alice", active=False).idle_released
    assert store.lease_holder(cid) == "alice"


def test_claims_change_the_live_stamp(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, store = app_and_store
    claims = claims_of(client, Clock())
    before = claims_stamp(store)
    view = claims.next(QueueQuery(states=("needs_review",), language="pl"), "alice")
    assert view is not None
    after = claims_stamp(store)
    assert after != before
    claims.release(view.item.contribution_id, "alice")
    assert claims_stamp(store) != after


def test_next_item_over_http(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, store = app_and_store
    log_in(client, "alice")
    headers = {"X-CSRF-Token": csrf(client)}
    got = [
        client.post("/api/next", json={"view": "language=pl"}, headers=headers).json()["cid"]
        for _ in range(2)
    ]
    assert got[0] == got[1] == "decidim-test:c-1"  # her own claim until she moves on
    moved = client.post(
        "/api/next", json={"view": "language=pl", "previous": got[0]}, headers=headers
    )
    assert moved.json()["cid"] == "decidim-test:c-2"
    assert store.lease_holder("decidim-test:c-1") is None
    store.claim("decidim-test:c-3", "bob", 60)
    last = client.post(
        "/api/next", json={"view": "language=pl", "previous": "decidim-test:c-2"}, headers=headers
    )
    assert last.json()["cid"] == "decidim-test:c-1"
    bad = client.post("/api/next", json={"view": "language=!!"}, headers=headers)
    assert bad.status_code == 422 and "not a language code" in bad.json()["detail"]
    renewed = client.post(
        "/api/renew", json={"cid": "decidim-test:c-1", "active": True}, headers=headers
    )
    assert renewed.json()["granted"] is True


def test_saved_views_are_per_user(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, _store = app_and_store
    log_in(client, "alice")
    headers = {"X-CSRF-Token": csrf(client)}
    saved = client.post(
        "/api/views", json={"name": "Polish", "view": "language=PL&q=park&page=4"}, headers=headers
    )
    assert saved.json()["href"] == "/queue?q=park&language=pl"
    assert 'data-view="Polish"' in client.get("/queue").text
    refused = client.post("/api/views", json={"name": "x", "view": "min=7"}, headers=headers)
    assert refused.status_code == 422 and "min" in refused.json()["detail"]
    client.post("/logout", headers=headers, data={"csrf_token": headers["X-CSRF-Token"]})
    log_in(client, "bob")
    assert 'data-view="Polish"' not in client.get("/queue").text


def test_bad_filters_are_answered_inline(app_and_store: tuple[TestClient, QueueStore]) -> None:
    client, _store = app_and_store
    log_in(client, "alice")
    page = client.get("/queue?language=pl&min=seven&page=99")
    assert page.status_code == 400
    assert "Left out of this view: min: Input should be a valid number" in page.text
    assert page.text.count("data-cid=") == 3  # the language filter kept, the page clamped
    assert "Page 1 of 1" in page.text
