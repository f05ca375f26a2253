"""The moderator UI in a real headless Chromium: keyboard review, claims, bulk, safety."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery
from tests.browser.conftest import XSS_BODY, Env, login

CID = "decidim-test:c-{n}"


def item(env: Env, n: int) -> QueueItem:
    found = env.store.get(CID.format(n=n))
    assert found is not None
    return found


def cursor_cid(page: Page) -> str:
    return page.locator("#rows tr.cursor").get_attribute("data-cid") or ""


def open_queue_at(page: Page, cid: str, url: str = "/queue") -> None:
    """Load the queue and move the cursor with j until it is on ``cid``."""
    page.goto(url)
    page.wait_for_selector("#rows tr.cursor")
    for _ in range(60):
        if cursor_cid(page) == cid:
            return
        page.keyboard.press("j")
    raise AssertionError(f"{cid} is not in the list")


def test_login_form_refuses_a_wrong_password(browser: Browser, ui_env: Env) -> None:
    page = browser.new_page(base_url=ui_env.url)
    page.goto("/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=/queue"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not her password")
    page.keyboard.press("Enter")
    expect(page.locator(".error")).to_have_text("Wrong user name or password.")
    page.context.close()


def test_approve_by_keyboard(browser: Browser, ui_env: Env) -> None:
    page = login(browser, ui_env, "alice")
    expect(page).to_have_url(re.compile(r"/queue$"))
    target = CID.format(n=1)
    open_queue_at(page, target)
    page.keyboard.press("a")
    expect(page.locator("#toast")).to_contain_text(f"Approved {target}")
    expect(page.locator(f'#rows tr[data-cid="{target}"]')).to_have_count(0)
    ui_env.pump()
    approved = item(ui_env, 1)
    assert approved.state == "approved"
    assert [(d.decision, d.by) for d in approved.decisions] == [("approve", "alice")]
    page.context.close()


def test_reject_with_a_reason_from_the_review_page(browser: Browser, ui_env: Env) -> None:
    page = login(browser, ui_env, "alice")
    target = CID.format(n=2)
    open_queue_at(page, target)
    page.keyboard.press("Enter")
    expect(page.locator("#item")).to_have_attribute("data-cid", target)
    # The German moderator reads the translation next to the original.
    expect(page.locator("section.translated h2")).to_contain_text("Deutsch")
    # The page's keys are bound by its deferred script, run before DOMContentLoaded: a key
    # pressed while the page is still parsing would reach no handler.
    page.wait_for_load_state("domcontentloaded")
    page.keyboard.press("r")
    expect(page.locator("#reject-dialog")).to_be_visible()
    page.keyboard.press("s")
    page.keyboard.type("Copy of a commercial text.")
    page.keyboard.press("Escape")
    page.keyboard.press("2")  # the second reason: offensive
    expect(page).to_have_url(re.compile(r"/queue"))
    ui_env.pump()
    rejected = item(ui_env, 2)
    assert rejected.state == "rejected"
    decision = rejected.decisions[-1]
    assert (decision.by, decision.reason_code, decision.statement) == (
        "alice",
        "offensive",
        "Copy of a commercial text.",
    )
    page.context.close()


def test_bulk_reject_of_a_near_duplicate_cluster(browser: Browser, ui_env: Env) -> None:
    flood = [i for i in ui_env.store.iter_items() if i.contribution.kind == "comment"]
    clusters = {i.cluster_id for i in flood}
    assert len(flood) == 8 and len(clusters) == 1 and None not in clusters
    page = login(browser, ui_env, "bob")
    page.goto(f"/items/{flood[0].contribution_id}")
    page.keyboard.press("b")
    expect(page.locator("#bulk-dialog")).to_be_visible()
    page.keyboard.press("2")  # reject the whole cluster
    expect(page.locator("#reject-dialog")).to_be_visible()
    page.keyboard.press("1")  # spam
    expect(page.locator("#toast")).to_contain_text("Rejected 8 items")
    ui_env.pump()
    page_of = ui_env.store.query(QueueQuery(cluster=clusters.pop()))
    assert page_of.total == 8
    assert {(i.state, i.decisions[-1].reason_code) for i in page_of.items} == {("rejected", "spam")}
    assert len({i.decisions[-1].bulk_id for i in page_of.items}) == 1
    page.context.close()


def test_two_moderators_claims_and_a_concurrent_decision(browser: Browser, ui_env: Env) -> None:
    alice, bob = login(browser, ui_env, "alice"), login(browser, ui_env, "bob")
    claimed = CID.format(n=3)
    alice.goto(f"/items/{claimed}")
    expect(alice.locator("#taken")).to_have_count(0)
    bob.goto(f"/items/{claimed}")
    expect(bob.locator("#taken")).to_contain_text("alice is reviewing this item")
    expect(bob.locator("button[data-act=approve]")).to_be_disabled()
    bob.goto("/queue")
    expect(bob.locator(f'#rows tr[data-cid="{claimed}"] .holder')).to_have_text("taken by alice")

    # Both look at the same unclaimed item in their lists; alice decides first.
    contested = CID.format(n=4)
    open_queue_at(bob, contested)
    open_queue_at(alice, contested)
    before = bob.locator(".tabs a[data-tab=needs_review] .count").inner_text()
    alice.keyboard.press("a")
    expect(alice.locator("#toast")).to_contain_text(f"Approved {contested}")
    ui_env.pump()
    # bob's list and counts follow without a reload (server-sent events)…
    expect(bob.locator(".tabs a[data-tab=needs_review] .count")).not_to_have_text(before)
    expect(bob.locator(f'#rows tr[data-cid="{contested}"]')).to_have_count(0)
    # …and a decision sent from a view that predates alice's is refused, not applied.
    answer = bob.evaluate(
        """async (cid) => {
            const r = await fetch('/api/decide', {method: 'POST', headers: {
                'Content-Type': 'application/json',
                'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
              body: JSON.stringify({cid, decision: 'reject', reason_code: 'spam',
                                    seen_version: 1, seen_decisions: 0})});
            return [r.status, (await r.json()).detail];
        }""",
        contested,
    )
    assert answer[0] == 409
    assert "alice decided approve" in answer[1]
    ui_env.pump()
    final = item(ui_env, 4)
    assert final.state == "approved" and [d.by for d in final.decisions] == ["alice"]
    alice.context.close()
    bob.context.close()


def test_script_and_onerror_payloads_are_rendered_inert(browser: Browser, ui_env: Env) -> None:
    page = login(browser, ui_env, "bob")
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    cid = CID.format(n=200)
    page.goto("/queue")
    expect(page.locator(f'#rows tr[data-cid="{cid}"] .body')).to_contain_text("<script>")
    page.goto(f"/items/{cid}")
    expect(page.locator("section.original .body")).to_have_text(XSS_BODY)
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("section.original img").count() == 0
    assert fired == []
    page.context.close()
