"""The review page's context: the link on the platform, the parent and its thread, and
where each translation came from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Env, login
from tests.conftest import contribution

CID = "decidim-test:c-{n}"
PARENT = "Proposal 800: a tram line from the station to the university campus."
LINK = "https://decidim.example.org/processes/climate/proposals/801"


@pytest.fixture(scope="module")
def thread(ui_env: Env) -> Iterator[Env]:
    ui_env.ingest(
        [
            contribution(800, body=PARENT, author="author-p"),
            contribution(
                801,
                body="I support the tram.",
                kind="comment",
                parent_id="c-800",
                url=LINK,
                author="author-q",
            ),
            contribution(
                802,
                body="The tram is too slow.",
                kind="comment",
                parent_id="c-800",
                author="author-r",
            ),
            contribution(
                803,
                body="See my link.",
                kind="comment",
                url="javascript:alert(1)",
                author="author-s",
            ),
        ],
        "thread.jsonl",
    )
    ui_env.pump()
    yield ui_env


def test_the_link_parent_and_other_replies_are_shown(browser: Browser, thread: Env) -> None:
    page = login(browser, thread, "alice")
    page.goto(f"/items/{CID.format(n=801)}")
    link = page.locator("a.platform-link")
    expect(link).to_have_attribute("href", LINK)
    assert "noopener" in (link.get_attribute("rel") or "").split()
    parent = page.locator("#parent")
    expect(parent).to_contain_text(PARENT)
    expect(parent.locator('a[href="/items/decidim-test%3Ac-800"]')).to_have_count(1)
    replies = page.locator("#thread li")
    expect(replies).to_have_count(1)
    expect(replies.first).to_contain_text("The tram is too slow.")

    page.goto(f"/items/{CID.format(n=800)}")
    expect(page.locator("#thread li")).to_have_count(2)
    expect(page.locator("#parent")).to_have_count(0)
    page.context.close()


def test_a_link_that_is_not_http_is_not_a_link(browser: Browser, thread: Env) -> None:
    page = login(browser, thread, "alice")
    page.goto(f"/items/{CID.format(n=803)}")
    expect(page.locator("#item")).to_be_visible()
    expect(page.locator("a.platform-link")).to_have_count(0)
    expect(page.locator('a[href^="javascript:"]')).to_have_count(0)
    page.context.close()


def test_each_translation_says_where_it_came_from(browser: Browser, thread: Env) -> None:
    item = thread.store.get(CID.format(n=800))
    assert item is not None
    [machine] = [t for t in item.translations if (t.target_language, t.field) == ("de", "body")]
    page = login(browser, thread, "alice")
    page.goto(f"/items/{CID.format(n=800)}")
    expect(page.locator(".translated [data-origin]")).to_have_text(machine.origin)
    page.context.close()
