"""A moderator's day on the queue list, in a real headless Chromium: "next item" for two
moderators at once, rows that say why, search and saved views, small screens and assistive
technology.

Items are saved to the store directly (what triage would write); the UI's decisions are
events on the bus that no worker applies here, so they stay "being applied" (the overlay).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from moderator_ui.accounts import Accounts
from moderator_ui.queue_filters import TABS
from moderator_ui.server import BackgroundServer
from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult
from pipeline.schemas.queue import Decision, QueueItem
from pipeline.store import open_store
from tests.browser.conftest import PASSWORD
from tests.conftest import contribution
from tests.services import free_port

NOW = datetime(2026, 11, 21, tzinfo=UTC)
REASONS = [
    "toxicity 0.41 ≥ review threshold 0.40 (policy)",
    "new author: first contribution in this space",
    "links to an external site",
]
WIDE = {"width": 1280, "height": 800}
# The elements sticking out on the right (named in a failure).
WIDER_THAN_THE_SCREEN = """() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 8)
  .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def queue_item(n: int, *, lang: str = "en", space: str = "parks", **update: Any) -> QueueItem:
    base = QueueItem(
        contribution=Contribution.model_validate(
            contribution(n, author=f"author-{n}", space=space, body=f"Proposal {n}: benches.")
        ),
        state="needs_review",
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="t"),
        reasons=REASONS,
        submitted_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=update)


def with_body(row: QueueItem, body: str) -> QueueItem:
    return row.model_copy(
        update={"contribution": row.contribution.model_copy(update={"body": body})}
    )


def seed() -> list[QueueItem]:
    rows = [queue_item(n, lang="pl", space="pl-space") for n in range(1, 7)]
    rows += [queue_item(n, space="rows") for n in range(10, 24)]
    rows.append(
        queue_item(
            30,
            space="rows",
            state="approved",
            decisions=[
                Decision(
                    decision="approve",
                    by="carol",
                    at=NOW,
                    statement="Criticism of the council, not abuse.",
                )
            ],
        )
    )
    rows.append(
        queue_item(
            31,
            space="rows",
            state="rejected",
            decisions=[Decision(decision="reject", by="carol", at=NOW, reason_code="spam")],
        )
    )
    rows.append(
        queue_item(
            32,
            space="rows",
            state="escalated",
            decisions=[
                Decision(
                    decision="escalate", by="carol", at=NOW, statement="Names a private person."
                )
            ],
        )
    )
    rows.append(with_body(queue_item(40, space="search"), "Les élèves du LYCÉE veulent un café."))
    rows.append(with_body(queue_item(41, space="search", lang="de"), "Die Brücke ist kaputt."))
    rows.append(queue_item(50, space="race"))
    rows.append(
        queue_item(60, space="spam").model_copy(update={"spam_score": 0.97, "priority": 9.0})
    )
    return rows


@dataclass
class DayEnv:
    settings: Settings
    url: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DayEnv]:
    root: Path = tmp_path_factory.mktemp("queue-day")
    settings = Settings(data_dir=root / "data", partitions=2, ui_lease_ttl_s=120)
    store = open_store(settings)
    for n, item in enumerate(seed()):
        store.save(item, event_id=f"seed-{n}", expected_revision=0)
    accounts = Accounts(store)
    for name in ("alice", "bob"):
        accounts.add(name, "moderator", PASSWORD, language="en")
    store.close()
    bus = open_bus(settings)
    bus.ensure_topics([settings.topic("decisions")], settings.partitions)
    bus.close()
    port = free_port()
    server = BackgroundServer(settings, host="127.0.0.1", port=port)
    server.start()
    yield DayEnv(settings, f"http://127.0.0.1:{port}")
    server.stop()


def login(browser: Browser, env: DayEnv, name: str, **context: Any) -> Page:
    page = browser.new_context(base_url=env.url, **context).new_page()
    page.goto("/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("header nav")
    return page


def cursor_cid(page: Page) -> str:
    return page.locator("#rows tr.cursor").get_attribute("data-cid") or ""


def test_two_moderators_pressing_n_get_different_items_and_see_each_others_claims(
    browser: Browser, env: DayEnv
) -> None:
    alice = login(browser, env, "alice")
    bob = login(browser, env, "bob")
    for page in (alice, bob):
        page.goto("/queue?language=pl")
        expect(page.locator("#rows tr[data-cid]")).to_have_count(6)
    alice.keyboard.press("n")
    expect(alice.locator("#rows tr.cursor .holder.mine")).to_have_text("claimed by you")
    bob.keyboard.press("n")
    expect(bob.locator("#rows tr.cursor .holder.mine")).to_have_text("claimed by you")
    mine, his = cursor_cid(alice), cursor_cid(bob)
    assert mine != his
    # Pushed live: neither reloads.
    expect(alice.locator(f'#rows tr[data-cid="{his}"] .holder')).to_have_text("taken by bob")
    expect(bob.locator(f'#rows tr[data-cid="{mine}"] .holder')).to_have_text("taken by alice")
    # n again: the next one, never the other's; the previous claim is given back.
    alice.keyboard.press("n")
    expect(alice.locator("#rows tr.cursor")).not_to_have_attribute("data-cid", mine)
    expect(alice.locator("#rows tr.cursor .holder.mine")).to_have_text("claimed by you")
    third = cursor_cid(alice)
    assert third not in (mine, his)
    expect(bob.locator(f'#rows tr[data-cid="{mine}"] .holder')).to_have_count(0)
    alice.context.close()
    bob.context.close()


def test_the_loser_is_told_who_decided_first(browser: Browser, env: DayEnv) -> None:
    alice = login(browser, env, "alice")
    bob = login(browser, env, "bob")
    bob.add_init_script("Object.defineProperty(window, 'EventSource', {value: undefined})")
    for page in (alice, bob):
        page.goto("/queue?space=race")
        expect(page.locator("#rows tr[data-cid]")).to_have_count(1)
    alice.keyboard.press("a")
    expect(alice.locator("#toast")).to_contain_text("Approved")
    bob.keyboard.press("a")  # his list is from before alice's decision
    expect(bob.locator("#toast .msg.bad")).to_contain_text("alice decided approve")
    expect(bob.locator("#toast")).not_to_contain_text("still being applied")
    alice.context.close()
    bob.context.close()


def test_rows_say_why_and_twelve_fit_on_a_laptop_screen(browser: Browser, env: DayEnv) -> None:
    page = login(browser, env, "alice", viewport=WIDE)
    page.goto("/queue?space=rows")
    first = page.locator("#rows tr[data-cid]").first
    expect(first.locator(".reasons-row li")).to_have_text(REASONS)
    expect(first.locator(".state-words")).to_have_text("Waiting for review")
    fit = page.evaluate(
        "() => Array.from(document.querySelectorAll('#rows tr[data-cid]'))"
        ".filter((r) => r.getBoundingClientRect().bottom <= innerHeight).length"
    )
    assert fit >= 12
    page.goto("/queue?tab=decided&space=rows")
    approved = page.locator('#rows tr[data-cid="decidim-test:c-30"]')
    expect(approved.locator(".state-words")).to_have_text("Approved")
    expect(approved.locator(".decided")).to_contain_text(
        "by carol: “Criticism of the council, not abuse.”"
    )
    rejected = page.locator('#rows tr[data-cid="decidim-test:c-31"]')
    expect(rejected.locator(".decided")).to_have_text("by carol · Spam")
    page.goto("/queue?tab=escalated&space=rows")
    escalated = page.locator('#rows tr[data-cid="decidim-test:c-32"]')
    expect(escalated.locator(".note")).to_have_text("carol's note: “Names a private person.”")
    page.context.close()


def test_search_filters_and_saved_views(browser: Browser, env: DayEnv) -> None:
    page = login(browser, env, "alice")
    page.goto("/queue")
    page.keyboard.press("/")
    page.keyboard.type("lycee CAFE")
    page.keyboard.press("Enter")
    expect(page.locator("#rows tr[data-cid]")).to_have_count(1)
    expect(page.locator("#rows tr[data-cid]")).to_have_attribute("data-cid", "decidim-test:c-40")
    page.goto("/queue?q=c-41")
    expect(page.locator("#rows tr[data-cid]")).to_have_attribute("data-cid", "decidim-test:c-41")
    page.goto("/queue?language=PL,De&space=")
    expect(page.locator("#rows tr[data-cid]")).to_have_count(7)
    page.goto("/queue?language=polish!&space=search")
    expect(page.locator(".filter-problem")).to_contain_text("not a language code: polish!")
    expect(page.locator("#rows tr[data-cid]")).to_have_count(2)
    page.goto("/queue?space=search&page=999")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 1")
    expect(page.locator("#rows tr[data-cid]")).to_have_count(2)
    page.goto("/queue?space=search&q=brucke")
    page.fill("#view-name", "bridges")
    page.click("[data-save-view]")
    expect(page.locator('#views a[data-view="bridges"]')).to_have_count(1)
    page.goto("/queue")
    page.click('#views a[data-view="bridges"]')
    expect(page).to_have_url(re.compile(r"q=brucke"))
    expect(page.locator("#rows tr[data-cid]")).to_have_attribute("data-cid", "decidim-test:c-41")
    bob = login(browser, env, "bob")
    bob.goto("/queue")
    expect(bob.locator('#views a[data-view="bridges"]')).to_have_count(0)
    bob.context.close()
    page.context.close()


def test_dialogs_focus_and_the_cursor_for_assistive_technology(
    browser: Browser, env: DayEnv
) -> None:
    page = login(browser, env, "alice")
    page.goto("/queue?space=rows")
    page.keyboard.press("?")
    help_ = page.locator("#help")
    expect(help_).to_be_visible()
    expect(help_).to_have_attribute("aria-modal", "true")
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "() => document.getElementById('help').contains(document.activeElement)"
        )
    for label, _states in TABS.values():
        expect(help_).to_contain_text(re.compile(re.escape(label), re.IGNORECASE))
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search"
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.tagName") == "BODY"
    page.keyboard.press("j")  # the list has the keys again
    rows = page.locator("#rows tr[data-cid]")
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    expect(rows.nth(0)).to_have_attribute("aria-selected", "false")
    page.keyboard.press("Tab")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"
    page.context.close()


def test_a_phone_width_screen_and_high_spam_as_danger(browser: Browser, env: DayEnv) -> None:
    page = login(browser, env, "alice", viewport={"width": 400, "height": 800})
    for url in ("/queue", "/queue?space=rows", "/items/decidim-test:c-60"):
        page.goto(url)
        widths = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
        offenders = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert widths[0] == widths[1], (url, offenders)
    page.goto("/queue")
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_in_viewport()
    spam = page.locator('#rows tr[data-cid="decidim-test:c-60"] .score', has_text="spam")
    expect(spam).to_have_class(re.compile(r"\bhigh\b"))
    # The queue re-renders its rows as it refreshes: the element the locator resolved can be
    # replaced before the script runs, and a detached element has no style. Such a read gives
    # "" and is tried again (the locator then resolves the new row).
    for _ in range(50):
        color = spam.evaluate("(el) => el.isConnected ? getComputedStyle(el).color : ''")
        if color:
            break
        page.wait_for_timeout(100)
    red, green = (int(n) for n in re.findall(r"\d+", color)[:2])
    assert red > green, color
    page.goto("/items/decidim-test:c-60")
    meter = page.locator("meter.danger")
    expect(meter).to_have_count(1)
    assert meter.get_attribute("optimum") == "0"
    page.context.close()
