"""The moderation of record in a real headless Chromium: the Reported and Appeals tabs,
appeals, sanctions, the author's page, reversals that need a reason, escalation notes and the
undo toast.

Items with reports, appeals and sanctions are saved to the store directly (what triage folds
them into); each action is checked as the event the UI published on the bus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from moderator_ui.accounts import Accounts
from moderator_ui.server import BackgroundServer
from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.privacy import sealer_for
from pipeline.schemas import Contribution, LanguageResult, ModerationDecided
from pipeline.schemas.codec import decode_event
from pipeline.schemas.moderation import (
    AppealDecided,
    AuthorSanctioned,
    IllegalNotice,
    SanctionLifted,
)
from pipeline.schemas.queue import Appeal, Decision, QueueItem, Report, Sanction
from pipeline.store import open_store
from tests.browser.conftest import PASSWORD
from tests.conftest import contribution
from tests.services import free_port

NOW = datetime(2026, 11, 21, tzinfo=UTC)
REPORTED, APPEALED, DECIDED, FRESH = (f"decidim-test:c-{n}" for n in (1, 2, 3, 4))
TO_ESCALATE = "decidim-test:c-6"


@dataclass
class ModerationEnv:
    settings: Settings
    url: str

    def events(self, kind: type) -> list[Any]:
        """The events of ``kind`` the UI published on the decisions topic."""
        bus = open_bus(self.settings)
        try:
            records = bus.read(self.settings.topic("decisions"))
        finally:
            bus.close()
        store = open_store(self.settings)
        try:  # read as a reader does: sealed personal fields opened
            sealer = sealer_for(self.settings, store)
            decoded = [sealer.open(decode_event(r.value)) for r in records]
        finally:
            store.close()
        return [e for e in decoded if isinstance(e, kind)]


def queue_item(n: int, **update: Any) -> QueueItem:
    base = QueueItem(
        contribution=Contribution.model_validate(
            contribution(n, author=f"author-{n}", body=f"Proposal {n}: more benches in the park.")
        ),
        state="needs_review",
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
        submitted_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=update)


def report(n: int, reason: str, **kw: Any) -> Report:
    fields: dict[str, Any] = {"reporter": f"reporter-{n}", **kw}
    return Report(
        event_id=f"r-{n}", reason=reason, at=NOW + timedelta(minutes=n), version=1, **fields
    )


def seed() -> list[QueueItem]:
    notice = IllegalNotice(
        legal_ground="Defamation, Art. 278 of the Criminal Code",
        explanation="Names a neighbour and accuses them of theft.",
        notifier_email="notifier@example.org",
        bona_fide=True,
    )
    return [
        queue_item(
            1,
            state="escalated",
            reports=[
                report(1, "offensive", details="Insults the neighbours by name."),
                report(2, "illegal", notice=notice),
            ],
        ),
        queue_item(
            2,
            state="rejected",
            decisions=[Decision(decision="reject", by="alice", at=NOW, event_id="alice-rej")],
            appeals=[
                Appeal(
                    event_id="appeal-1",
                    appellant="author-2",
                    appellant_role="author",
                    statement="Benches are not spam.",
                    at=NOW + timedelta(hours=1),
                    against="alice-rej",
                    against_by="alice",
                )
            ],
            sanctions=[
                Sanction(
                    event_id="sanction-1",
                    author="author-2",
                    action="warn",
                    by="alice",
                    at=NOW,
                    statement="Warned for repeated posts.",
                )
            ],
        ),
        queue_item(
            3,
            state="approved",
            decisions=[
                Decision(decision="approve", by="alice", at=NOW, version=1, event_id="alice-ok")
            ],
        ),
        queue_item(4),
        # author-2 reported someone else's item too.
        queue_item(5, reports=[report(5, "spam", reporter="author-2")]),
        queue_item(6),  # to escalate
    ]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModerationEnv]:
    root: Path = tmp_path_factory.mktemp("moderation-ui")
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
    yield ModerationEnv(settings, f"http://127.0.0.1:{port}")
    server.stop()


def login(browser: Browser, env: ModerationEnv, name: str) -> Page:
    page = browser.new_context(base_url=env.url).new_page()
    page.goto("/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("header nav")
    return page


def test_reported_tab_lists_a_reported_item_with_its_reasons(
    browser: Browser, env: ModerationEnv
) -> None:
    page = login(browser, env, "bob")
    page.goto("/queue")
    page.keyboard.press("5")
    expect(page).to_have_url(re.compile(r"tab=reported"))
    row = page.locator(f'#rows tr[data-cid="{REPORTED}"]')
    expect(row.locator(".reports .score")).to_have_text("reported by 2")
    expect(row.locator(".report-reason")).to_have_text(["Offensive", "Illegal content"])
    expect(row.locator(".report-details")).to_contain_text("Insults the neighbours by name.")
    expect(row.locator(".legal")).to_contain_text("Defamation, Art. 278")
    expect(page.locator(f'#rows tr[data-cid="{DECIDED}"]')).to_have_count(0)
    assert "notifier@example.org" not in page.content()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_contain_text("reported (people's open reports)")
    expect(page.locator("#help")).to_contain_text("appeals (open appeals)")
    page.context.close()


def test_an_appeal_is_refused_to_its_decider_and_decided_by_another(
    browser: Browser, env: ModerationEnv
) -> None:
    alice = login(browser, env, "alice")
    alice.goto("/queue")
    alice.keyboard.press("6")
    expect(alice).to_have_url(re.compile(r"tab=appeals"))
    expect(alice.locator(f'#rows tr[data-cid="{APPEALED}"] .appeal-row')).to_contain_text(
        "Benches are not spam."
    )
    alice.goto(f"/items/{APPEALED}")
    expect(alice.locator("#appeals .appeal-refused")).to_contain_text(
        "another moderator must decide this appeal"
    )
    expect(alice.locator("#appeals form")).to_have_count(0)
    alice.context.close()

    bob = login(browser, env, "bob")
    bob.goto(f"/items/{APPEALED}")
    form = bob.locator("#appeals form")
    form.locator("input[value=reversed]").check()
    form.locator("textarea[name=reply]").fill("Benches are on topic here: restored.")
    form.locator("button[type=submit]").click()
    expect(bob.locator("#toast")).to_contain_text("Appeal decided")
    expect(bob.locator("#appeals .notice")).to_contain_text("being applied")
    [event] = env.events(AppealDecided)
    assert (event.appeal_id, event.result, event.moderator) == ("appeal-1", "reversed", "bob")
    assert event.reply == "Benches are on topic here: restored."
    bob.context.close()


def test_sanction_form_and_lift(browser: Browser, env: ModerationEnv) -> None:
    page = login(browser, env, "bob")
    page.goto(f"/items/{REPORTED}")
    form = page.locator("#sanction-form")
    expect(form.locator("label.until")).to_be_hidden()
    form.locator("select[name=action]").select_option("suspend")
    expect(form.locator("label.until")).to_be_visible()
    until = (datetime.now(UTC) + timedelta(days=14)).date()
    form.locator("input[name=until]").fill(until.isoformat())
    form.locator("textarea[name=statement]").fill("Insults neighbours by name, again.")
    form.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_contain_text("Sanction recorded")
    expect(page.locator("#sanctions .notice")).to_contain_text("being applied")
    [event] = env.events(AuthorSanctioned)
    assert (event.author, event.action, event.moderator) == ("author-1", "suspend", "bob")
    assert event.until is not None and event.until.date() == until + timedelta(days=1)

    page.goto(f"/items/{APPEALED}")
    lift = page.locator('#sanctions li[data-sanction="sanction-1"] form')
    lift.locator("input[name=reason]").fill("Appeal reversed: the warning goes too.")
    lift.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_contain_text("Sanction lifted")
    expect(page.locator('#sanctions li[data-sanction="sanction-1"] .notice')).to_contain_text(
        "being applied"
    )
    [lifted] = env.events(SanctionLifted)
    assert (lifted.sanction_id, lifted.moderator) == ("sanction-1", "bob")
    page.context.close()


def test_author_page_from_the_review_page(browser: Browser, env: ModerationEnv) -> None:
    page = login(browser, env, "bob")
    page.goto(f"/items/{APPEALED}")
    page.locator("#author-link").click()
    expect(page).to_have_url(re.compile(r"/authors/decidim-test/author-2$"))
    expect(page.locator("h1")).to_contain_text("author-2")
    expect(page.locator("#author-sanctions")).to_contain_text("Warned for repeated posts.")
    expect(page.locator("#author-history")).to_contain_text("Proposal 2")
    expect(page.locator(".reports-made")).to_contain_text("c-5")
    page.context.close()


def test_a_reversal_needs_a_reason(browser: Browser, env: ModerationEnv) -> None:
    page = login(browser, env, "bob")
    page.goto(f"/items/{DECIDED}")
    page.keyboard.press("r")
    page.keyboard.press("1")  # spam
    dialog = page.locator("#reverse-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("This reverses alice's decision (approved)")
    page.keyboard.press("Enter")  # no reason: nothing is sent
    expect(dialog).to_be_visible()
    page.keyboard.type("A hidden advert: the link sells benches.")
    page.keyboard.press("Enter")
    expect(page.locator("#toast")).to_contain_text(f"Rejected {DECIDED}")
    [event] = [e for e in env.events(ModerationDecided) if e.contribution_id == DECIDED]
    assert (event.decision, event.reverses) == ("reject", "alice-ok")
    assert event.statement == "A hidden advert: the link sells benches."
    page.context.close()


def test_an_escalation_asks_for_a_note(browser: Browser, env: ModerationEnv) -> None:
    """Escape cancels (nothing sent), an empty note is not sent, Enter sends the note."""
    page = login(browser, env, "bob")
    page.goto(f"/items/{TO_ESCALATE}")
    dialog = page.locator("#escalate-dialog")
    page.keyboard.press("e")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("e")
    expect(dialog).to_be_visible()
    dialog.locator("[data-escalate-send]").click()  # empty: nothing is sent
    expect(dialog).to_be_visible()
    note = dialog.locator("#escalate-note")
    note.fill("Names a private person; legal should look.")
    note.press("Enter")
    expect(page.locator("#toast")).to_contain_text(f"Escalated {TO_ESCALATE}")
    [event] = [e for e in env.events(ModerationDecided) if e.contribution_id == TO_ESCALATE]
    assert (event.decision, event.statement) == (
        "escalate",
        "Names a private person; legal should look.",
    )
    page.context.close()


def test_the_decision_toast_offers_an_undo(browser: Browser, env: ModerationEnv) -> None:
    page = login(browser, env, "bob")
    page.goto("/queue")
    page.wait_for_selector("#rows tr.cursor")
    for _ in range(10):
        if page.locator("#rows tr.cursor").get_attribute("data-cid") == FRESH:
            break
        page.keyboard.press("j")
    page.keyboard.press("a")
    toast = page.locator("#toast .msg.undo")
    expect(toast).to_contain_text(f"Approved {FRESH}")
    toast.locator("button").click()
    expect(page.locator("#toast")).to_contain_text(f"Undone: {FRESH} is back in review")
    approve, undo = [e for e in env.events(ModerationDecided) if e.contribution_id == FRESH]
    assert (approve.decision, approve.moderator) == ("approve", "bob")
    assert (undo.decision, undo.reverses, undo.statement) == (
        "requeue",
        str(approve.event_id),
        "undone by bob",
    )
    page.context.close()
