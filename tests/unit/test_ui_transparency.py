"""The admin's transparency page: figures and charts for admins only, JSON and CSV downloads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from pipeline.config import Settings
from tests.unit.test_transparency import items
from tests.unit.test_ui_endpoints import PASSWORD, log_in

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store = app.state.context.store
    for role in ("moderator", "admin"):
        Accounts(store).add(role, role, PASSWORD)
    for n, item in enumerate(items()):
        store.save(item, event_id=f"seed-{n}", expected_revision=0)
    with TestClient(app) as test_client:
        yield test_client


def test_an_admin_sees_the_figures_with_their_charts(client: TestClient) -> None:
    log_in(client, "admin")
    page = client.get(f"/admin/transparency?{NOVEMBER}")
    assert page.status_code == 200
    assert page.text.count("<svg") == 6
    assert 'href="/admin/transparency"' in page.text  # the admin menu links to it
    assert "Notices by source" in page.text and 'value="2026-11-30"' in page.text
    assert client.get("/admin/transparency").status_code == 200  # default: this year so far


def test_downloads_and_bad_days(client: TestClient) -> None:
    log_in(client, "admin")
    data = client.get(f"/admin/transparency?{NOVEMBER}&format=json")
    assert data.json()["notices"]["total"] == 4
    assert "attachment" in data.headers["content-disposition"]
    table = client.get(f"/admin/transparency?{NOVEMBER}&format=csv")
    assert table.headers["content-type"].startswith("text/csv")
    assert "appeals,reversed,,1" in table.text
    assert client.get("/admin/transparency?from=yesterday").status_code == 400
    assert client.get("/admin/transparency?from=2026-11-02&to=2026-11-01").status_code == 400


def test_a_moderator_is_refused(client: TestClient) -> None:
    log_in(client, "moderator")
    assert client.get(f"/admin/transparency?{NOVEMBER}").status_code == 403
    assert 'href="/admin/transparency"' not in client.get("/settings").text
