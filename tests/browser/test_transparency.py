"""The transparency page in a real browser: reached from the admin menu, its charts drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from moderator_ui.accounts import Accounts
from moderator_ui.server import BackgroundServer
from pipeline.config import Settings
from pipeline.store import open_store
from tests.browser.conftest import PASSWORD
from tests.services import free_port
from tests.unit.test_transparency import items


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served UI over a store holding the hand-built items of the figures' tests."""
    root: Path = tmp_path_factory.mktemp("transparency")
    settings = Settings(data_dir=root / "data", partitions=2)
    store = open_store(settings)
    for n, item in enumerate(items()):
        store.save(item, event_id=f"seed-{n}", expected_revision=0)
    accounts = Accounts(store)
    accounts.add("ada", "admin", PASSWORD)
    accounts.add("mo", "moderator", PASSWORD)
    store.close()
    port = free_port()
    server = BackgroundServer(settings, host="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def log_in(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_context(base_url=url).new_page()
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("header nav")
    return page


def test_an_admin_opens_the_report_from_the_menu_and_sees_its_plots(
    browser: Browser, url: str
) -> None:
    page = log_in(browser, url, "ada")
    page.click("header nav >> text=Transparency")
    page.wait_for_selector("h1:has-text('Transparency report')")
    page.fill("input[name=from]", "2026-11-01")
    page.fill("input[name=to]", "2026-11-30")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/admin/transparency?from=2026-11-01&to=2026-11-30")
    charts = page.locator("figure.chart svg")
    assert charts.count() == 6
    assert page.locator("figure.chart svg rect").count() >= 10  # bars drawn, one per figure
    reversed_share = page.locator("figure.chart", has_text="reversed by a human")
    assert "100.0 %" in reversed_share.inner_text()
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20  # laid out, visible


def test_a_moderator_has_no_link_and_is_refused(browser: Browser, url: str) -> None:
    page = log_in(browser, url, "mo")
    assert page.locator("header nav >> text=Transparency").count() == 0
    response = page.goto("/admin/transparency")
    assert response is not None and response.status == 403
