"""Wellbeing: text scored above HEMICYCLE_UI_BLUR_ABOVE is blurred, its words hidden from
eyes and screen readers, until the moderator reveals it (v or a click, remembered per item);
a moderator can turn blurring off in their settings."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from pipeline.schemas.events import Score
from tests.browser.conftest import Env, login
from tests.conftest import contribution

CID = "decidim-test:c-{n}"
ABUSE = "You are all idiots and I will make you regret this vote."
MILD = "I disagree with this proposal about parking spaces."


@pytest.fixture(scope="module")
def scored(ui_env: Env) -> Iterator[Env]:
    ui_env.ingest(
        [
            contribution(960, body=ABUSE, author="harsh"),
            contribution(961, body=MILD, author="harsh"),
        ],
        "harsh.jsonl",
    )
    ui_env.pump()
    # The scores a toxicity model would have given (the test setup has none installed).
    for n, value in ((960, 0.97), (961, 0.3)):
        item = ui_env.store.get(CID.format(n=n))
        assert item is not None
        score = Score(category="toxicity", value=value, model="test-model", text_language="en")
        result = ui_env.store.save(
            item.model_copy(update={"scores": [score], "revision": item.revision + 1}),
            event_id=f"test-score-{n}",
            expected_revision=item.revision,
        )
        assert result.value == "saved"
    yield ui_env


# Retrying expectations only: a live refresh can replace the queue's rows at any moment, and a
# one-shot evaluate on a row it has just detached reads an empty computed style.
def hidden(box: Locator) -> None:
    """Blurred and out of the accessibility tree: aria-hidden, inert, a CSS blur."""
    veil = box.locator(".veil")
    expect(veil).to_have_attribute("aria-hidden", "true")
    expect(veil).to_have_js_property("inert", True)
    expect(veil).to_have_css("filter", re.compile(r"blur\("))


def shown(box: Locator) -> None:
    veil = box.locator(".veil")
    expect(veil).not_to_have_attribute("aria-hidden", "true")
    expect(veil).to_have_js_property("inert", False)
    expect(veil).to_have_css("filter", "none")


def row(page: Page, n: int) -> Locator:
    return page.locator(f'#rows tr[data-cid="{CID.format(n=n)}"]')


def test_toxic_text_is_blurred_until_revealed_and_the_choice_is_kept(
    browser: Browser, scored: Env
) -> None:
    page = login(browser, scored, "bob")
    page.goto("/queue?author=harsh")
    expect(row(page, 960).locator(".sensitive")).to_have_count(1)
    expect(row(page, 961).locator(".sensitive")).to_have_count(0)
    box = row(page, 960).locator(".sensitive")
    hidden(box)
    tree = page.locator("#rows").aria_snapshot()  # what a screen reader is given
    assert MILD in tree and ABUSE not in tree
    expect(box.locator("[data-reveal]")).to_contain_text("toxicity 0.97")

    for _ in range(5):  # the cursor onto the toxic row, then v
        if page.locator("#rows tr.cursor").get_attribute("data-cid") == CID.format(n=960):
            break
        page.keyboard.press("j")
    page.keyboard.press("v")
    shown(box)
    assert ABUSE in page.locator("#rows").aria_snapshot()
    page.reload()
    shown(row(page, 960).locator(".sensitive"))

    page.goto(f"/items/{CID.format(n=960)}")
    shown(page.locator(".original .sensitive"))
    page.keyboard.press("v")
    hidden(page.locator(".original .sensitive"))
    page.reload()
    hidden(page.locator(".original .sensitive"))
    page.locator(".original [data-reveal]").click()
    shown(page.locator(".original .sensitive"))
    page.context.close()


def test_a_moderator_can_turn_blurring_off(browser: Browser, scored: Env) -> None:
    page = login(browser, scored, "alice")
    page.goto("/settings")
    blur = page.locator("input[name=blur]")
    expect(blur).to_be_checked()
    blur.uncheck()
    page.click("text=Save")
    expect(page.locator(".ok")).to_have_text("Saved.")
    expect(page.locator("input[name=blur]")).not_to_be_checked()
    page.goto("/queue?author=harsh")
    expect(row(page, 960)).to_contain_text(ABUSE)
    expect(page.locator("#rows .sensitive")).to_have_count(0)
    page.goto("/settings")
    page.locator("input[name=blur]").check()
    page.click("text=Save")
    page.goto("/queue?author=harsh")
    expect(page.locator("#rows .sensitive")).to_have_count(1)
    page.context.close()
