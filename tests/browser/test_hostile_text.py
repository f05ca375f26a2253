"""Hostile text cannot break the page: long words, right-to-left scripts, bidi controls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Env, login
from tests.conftest import contribution

LONG_TITLE = "W" * 300
ARABIC = "يجب أن نزرع المزيد من الأشجار على طول النهر ونبني ممرات للدراجات"
HEBREW = "אנחנו צריכים יותר עצים לאורך הנהר ושבילי אופניים בטוחים"
OVERRIDE = "The fee is \u202e0001 EUR\u202c only, says the \u2066city\u2069 hall."
CID = "decidim-test:c-{n}"


@pytest.fixture(scope="module")
def hostile(ui_env: Env) -> Iterator[Env]:
    ui_env.ingest(
        [
            contribution(700, title=LONG_TITLE, body="A title nobody can break.", author="hostile"),
            contribution(701, body=ARABIC, author="hostile"),
            contribution(702, body=HEBREW, author="hostile"),
            contribution(703, body=OVERRIDE, author="hostile"),
        ],
        "hostile.jsonl",
    )
    ui_env.pump()
    yield ui_env


def page_width(page: Page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def not_auto(page: Page, selector: str) -> list[str]:
    """Texts matching ``selector`` whose direction is not left to the browser (dir=auto)."""
    return page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.getAttribute('dir') !== 'auto').map(e => e.outerHTML)",
    )


def test_a_long_word_does_not_widen_the_queue_or_the_review_page(
    browser: Browser, hostile: Env
) -> None:
    page = login(browser, hostile, "bob")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/queue?author=hostile")
    expect(page.locator(f'#rows tr[data-cid="{CID.format(n=700)}"]')).to_have_count(1)
    width, viewport = page_width(page)
    assert width == viewport
    signals = page.locator(f'#rows tr[data-cid="{CID.format(n=700)}"] td.signals')
    box = signals.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport

    page.goto(f"/items/{CID.format(n=700)}")
    expect(page.locator(".original .title")).to_have_text(LONG_TITLE)
    width, viewport = page_width(page)
    assert width == viewport
    page.context.close()


def test_every_user_text_takes_its_own_direction(browser: Browser, hostile: Env) -> None:
    page = login(browser, hostile, "alice")
    page.goto("/queue?author=hostile")
    expect(page.locator("#rows tr[data-cid]")).to_have_count(4)
    assert not_auto(page, "#rows .title, #rows .body, #rows .translation, #rows .reason") == []
    for n in (701, 702):
        body = page.locator(f'#rows tr[data-cid="{CID.format(n=n)}"] .body')
        expect(body).to_have_css("direction", "rtl")  # retried: a live refresh may swap rows
    english = page.locator(f'#rows tr[data-cid="{CID.format(n=700)}"] .body')
    expect(english).to_have_css("direction", "ltr")

    page.goto(f"/items/{CID.format(n=701)}")
    assert not_auto(page, ".original .title, .original .body, .translated .body") == []
    expect(page.locator(".original .body")).to_have_css("direction", "rtl")
    page.context.close()


def test_bidi_controls_are_shown_not_obeyed(browser: Browser, hostile: Env) -> None:
    page = login(browser, hostile, "bob")
    page.goto("/queue?author=hostile")
    body = page.locator(f'#rows tr[data-cid="{CID.format(n=703)}"] .body')
    markers = body.locator(".bidi-control")
    expect(markers).to_have_count(4)
    expect(markers.first).to_have_attribute("title", "U+202E RIGHT-TO-LEFT OVERRIDE")
    assert markers.first.is_visible()
    text = body.evaluate("e => e.textContent")
    assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "0001 EUR" in text

    page.goto(f"/items/{CID.format(n=703)}")
    expect(page.locator(".original .body .bidi-control")).to_have_count(4)
    page.context.close()
