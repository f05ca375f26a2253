"""The moderation of record in the UI: Reported and Appeals tabs, appeals, sanctions, the
author's page, reversals that need a reason, and undo — each action one event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult, ModerationDecided
from pipeline.schemas.codec import decode_event
from pipeline.schemas.moderation import (
    AppealDecided,
    AuthorSanctioned,
    IllegalNotice,
    SanctionLifted,
)
from pipeline.schemas.queue import Appeal, Decision, QueueItem, Report, Sanction
from pipeline.store.base import QueueStore
from tests.conftest import contribution

PASSWORD = "long enough password"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
REPORTED, APPEALED, DECIDED, OTHER = (f"decidim-test:c-{n}" for n in (1, 2, 3, 4))
KEY = "key-0123456789"


def report(n: int, reason: str = "spam", **kw: Any) -> Report:
    fields: dict[str, Any] = {"reporter": f"reporter-{n}", **kw}
    return Report(
        event_id=f"r-{n}", reason=reason, at=NOW + timedelta(minutes=n), version=1, **fields
    )


NOTICE = IllegalNotice(
    legal_ground="Incitement to hatred, § 130 StGB",
    explanation="Calls for violence against a group.",
    notifier_name="Erika Mustermann",
    notifier_email="erika@example.org",
    bona_fide=True,
)
ALICE_APPROVED = Decision(
    decision="approve", by="alice", at=NOW, version=1, event_id="alice-approve-1"
)
SANCTION = Sanction(
    event_id="sanction-1",
    author="u-2",
    action="warn",
    by="alice",
    at=NOW,
    statement="Warned for spam.",
)


def queue_item(n: int, **update: Any) -> QueueItem:
    base = QueueItem(
        contribution=Contribution.model_validate(contribution(n, author=f"u-{n}")),
        state="needs_review",
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
        submitted_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=update)


def seed(store: QueueStore) -> None:
    rows = [
        queue_item(
            1,
            state="escalated",
            reports=[
                report(1, details="Selling watches in every thread."),
                report(2, "illegal", notice=NOTICE),
                report(3, reporter="reporter-1"),  # reporter-1 again: counts once
            ],
        ),
        queue_item(
            2,
            state="rejected",
            decisions=[Decision(decision="reject", by="alice", at=NOW, event_id="alice-reject-2")],
            appeals=[
                Appeal(
                    event_id="appeal-1",
                    appellant="u-2",
                    appellant_role="author",
                    statement="It was a joke between friends.",
                    at=NOW + timedelta(hours=1),
                    against="alice-reject-2",
                    against_by="alice",
                )
            ],
            sanctions=[SANCTION],
        ),
        queue_item(3, state="approved", decisions=[ALICE_APPROVED]),
        # u-2 also reported an item of someone else: the author page lists it as made.
        queue_item(4, reports=[report(9, reporter="u-2", details="Off topic.")]),
    ]
    for n, row in enumerate(rows):
        store.save(row, event_id=f"seed-{n}", expected_revision=0)
    other = Contribution.model_validate(contribution(5, platform="other-site", author="u-2"))
    store.save(
        queue_item(5).model_copy(update={"contribution": other}),
        event_id="seed-other",
        expected_revision=0,
    )


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store: QueueStore = app.state.context.store
    accounts = Accounts(store)
    for name in ("alice", "bob"):
        accounts.add(name, "moderator", PASSWORD)
    accounts.add("tina", "translator", PASSWORD)
    seed(store)
    with TestClient(app) as test_client:
        yield test_client


def log_in(client: TestClient, name: str) -> str:
    """Log ``name`` in; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    settings_page = client.get("/settings")
    found = re.search(r'name="csrf-token" content="([^"]+)"', settings_page.text)
    assert found is not None
    return found.group(1)


def post(client: TestClient, token: str, path: str, **body: Any) -> Any:
    return client.post(path, json=body, headers={"X-CSRF-Token": token})


def events(client: TestClient, settings: Settings, kind: type) -> list[Any]:
    context = client.app.state.context  # type: ignore[attr-defined]
    records = context.bus.read(settings.topic("decisions"))
    decoded = [context.sealer.open(decode_event(r.value)) for r in records]  # as a reader does
    return [e for e in decoded if isinstance(e, kind)]


def audit(client: TestClient, action: str) -> list[Any]:
    services = client.app.state.services  # type: ignore[attr-defined]
    return [e for e in services.audit.entries() if e.action == action]


def test_reported_tab_lists_reasons_details_and_legal_ground_never_the_notifier(
    app_client: TestClient,
) -> None:
    log_in(app_client, "bob")
    page = app_client.get("/queue?tab=reported")
    assert page.status_code == 200
    rows = app_client.get("/queue/rows?tab=reported").text
    assert REPORTED in rows and OTHER in rows and DECIDED not in rows
    assert 'data-reports="2"' in rows  # three reports, two distinct people
    assert "Spam" in rows and "Illegal content" in rows
    assert "Selling watches in every thread." in rows
    assert "§ 130 StGB" in rows
    assert 'data-count="reported">2<' in page.text
    item_page = app_client.get(f"/items/{REPORTED}").text
    assert "Calls for violence against a group." in item_page
    for private in ("Erika", "erika@example.org"):
        assert private not in page.text + rows + item_page


def test_appeals_tab_and_the_appeal_decided_by_another_moderator(
    app_client: TestClient, settings: Settings
) -> None:
    alice = log_in(app_client, "alice")
    rows = app_client.get("/queue/rows?tab=appeals").text
    assert APPEALED in rows and "It was a joke between friends." in rows
    assert REPORTED not in rows
    # alice made the decision under appeal: the page says so and the endpoint refuses.
    assert "another moderator must decide this appeal" in app_client.get(f"/items/{APPEALED}").text
    body = dict(cid=APPEALED, appeal_id="appeal-1", result="reversed", idempotency_key=KEY)
    refused = post(app_client, alice, "/api/appeals/decide", reply="Fine.", **body)
    assert refused.status_code == 403
    assert "another moderator must decide this appeal" in refused.json()["detail"]

    bob = log_in(app_client, "bob")
    assert 'data-action="/api/appeals/decide"' in app_client.get(f"/items/{APPEALED}").text
    no_reply = post(app_client, bob, "/api/appeals/decide", reply=" ", **body)
    assert no_reply.status_code == 422 and "reasoned reply" in no_reply.json()["detail"]
    reply = "A joke, and read as one in the thread: restored."
    first = post(app_client, bob, "/api/appeals/decide", reply=reply, **body)
    again = post(app_client, bob, "/api/appeals/decide", reply=reply, **body)  # double submit
    assert first.status_code == again.status_code == 200
    assert first.json()["event_id"] == again.json()["event_id"]
    [event] = events(app_client, settings, AppealDecided)
    assert (event.appeal_id, event.result, event.moderator, event.reply) == (
        "appeal-1",
        "reversed",
        "bob",
        reply,
    )
    # Another action on the same appeal while it is being applied is refused.
    other = dict(body, idempotency_key="another-key-123")
    late = post(app_client, bob, "/api/appeals/decide", reply="Upheld after all.", **other)
    assert late.status_code == 409
    assert "being applied" in app_client.get(f"/items/{APPEALED}").text
    [entry] = audit(app_client, "appeal_decision")
    assert (entry.actor, entry.target, entry.reason) == ("bob", APPEALED, reply)


def test_sanctions_need_a_statement_and_a_suspension_an_end_date(
    app_client: TestClient, settings: Settings
) -> None:
    bob = log_in(app_client, "bob")
    base = dict(cid=REPORTED, idempotency_key=KEY)
    missing = post(app_client, bob, "/api/sanctions", action="ban", **base)
    assert missing.status_code == 422 and "statement" in missing.json()["detail"]
    no_end = post(app_client, bob, "/api/sanctions", action="suspend", statement="Spam.", **base)
    assert no_end.status_code == 422 and "end date" in no_end.json()["detail"]
    until = (datetime.now(UTC) + timedelta(days=7)).date()
    body = dict(base, action="suspend", until=until.isoformat(), statement="Repeated spam.")
    assert post(app_client, bob, "/api/sanctions", **body).status_code == 200
    assert post(app_client, bob, "/api/sanctions", **body).status_code == 200  # a repeat
    [event] = events(app_client, settings, AuthorSanctioned)
    assert (event.platform, event.author, event.action, event.moderator) == (
        "decidim-test",
        "u-1",
        "suspend",
        "bob",
    )
    assert event.until == datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(
        days=1
    )
    assert "being applied" in app_client.get(f"/items/{REPORTED}").text
    [entry] = audit(app_client, "sanction")
    assert entry.detail.startswith("suspend until")


def test_lifting_a_sanction_needs_a_reason_and_is_one_event(
    app_client: TestClient, settings: Settings
) -> None:
    bob = log_in(app_client, "bob")
    body = dict(cid=APPEALED, sanction_id="sanction-1", idempotency_key=KEY)
    assert post(app_client, bob, "/api/sanctions/lift", **body).status_code == 422
    assert post(app_client, bob, "/api/sanctions/lift", reason="Appeal upheld.", **body).is_success
    assert post(app_client, bob, "/api/sanctions/lift", reason="Appeal upheld.", **body).is_success
    [event] = events(app_client, settings, SanctionLifted)
    assert (event.sanction_id, event.moderator, event.reason) == (
        "sanction-1",
        "bob",
        "Appeal upheld.",
    )
    unknown = post(
        app_client, bob, "/api/sanctions/lift", **dict(body, sanction_id="nope"), reason="x"
    )
    assert unknown.status_code == 404
    assert [e.actor for e in audit(app_client, "sanction_lifted")] == ["bob"]


def test_author_page_history_sanctions_and_reports_received_and_made(
    app_client: TestClient,
) -> None:
    log_in(app_client, "bob")
    assert 'href="/authors/decidim-test/u-2"' in app_client.get(f"/items/{APPEALED}").text
    page = app_client.get("/authors/decidim-test/u-2")
    assert page.status_code == 200
    text = page.text
    assert "It was a joke" not in text  # appeals stay on the review page
    assert "Warned for spam." in text and 'data-status="active"' in text
    assert 'href="/items/decidim-test%3Ac-2"' in text or "c-2" in text
    assert "c-5" not in text  # the same pseudonym on another platform is someone else
    made = text.split('class="reports-made"')[1]
    assert "c-4" in made and "by u-4" in made
    assert app_client.get("/authors/decidim-test/nobody").status_code == 404


def test_a_reversal_needs_a_reason_and_names_the_decision_it_reverses(
    app_client: TestClient, settings: Settings
) -> None:
    bob = log_in(app_client, "bob")
    assert 'data-final="approve" data-final-by="alice"' in app_client.get(f"/items/{DECIDED}").text
    body = dict(
        cid=DECIDED, decision="reject", reason_code="spam", seen_version=1, seen_decisions=1
    )
    silent = post(app_client, bob, "/api/decide", **body)
    assert silent.status_code == 422
    assert "reverses alice's decision (approve)" in silent.json()["detail"]
    said = post(app_client, bob, "/api/decide", statement="An advert after all.", **body)
    assert said.status_code == 200
    [event] = events(app_client, settings, ModerationDecided)
    assert (event.decision, event.reverses, event.statement) == (
        "reject",
        "alice-approve-1",
        "An advert after all.",
    )


def test_undo_reverses_ones_own_last_decision_back_to_the_one_before(
    app_client: TestClient, settings: Settings
) -> None:
    bob = log_in(app_client, "bob")
    body = dict(
        cid=DECIDED, decision="reject", reason_code="spam", seen_version=1, seen_decisions=1
    )
    decided = post(app_client, bob, "/api/decide", statement="Advert.", idempotency_key=KEY, **body)
    last = decided.json()["decisions"][-1]
    assert last["by"] == "bob" and last["event_id"]
    alice = log_in(app_client, "alice")
    undo = dict(cid=DECIDED, event_id=last["event_id"], idempotency_key="undo-key-0001")
    assert post(app_client, alice, "/api/undo", **undo).status_code == 409  # not hers
    bob = log_in(app_client, "bob")
    undone = post(app_client, bob, "/api/undo", **undo)
    assert undone.status_code == 200 and undone.json()["state"] == "approved"
    assert post(app_client, bob, "/api/undo", **undo).status_code == 200  # a repeat
    decided_events = events(app_client, settings, ModerationDecided)
    assert [(e.decision, e.reverses, e.statement) for e in decided_events] == [
        ("reject", "alice-approve-1", "Advert."),
        ("approve", last["event_id"], "undone by bob"),
    ]
    assert decided_events[1].seen_decisions == 2
    # A first decision undone gives the item back to the policy (a requeue): in review again.
    first = post(
        app_client,
        bob,
        "/api/decide",
        cid=REPORTED,
        decision="approve",
        seen_version=1,
        seen_decisions=0,
        idempotency_key="first-key-001",
    )
    event_id = first.json()["decisions"][-1]["event_id"]
    back = post(app_client, bob, "/api/undo", cid=REPORTED, event_id=event_id, idempotency_key=KEY)
    assert back.json()["state"] == "needs_review"


@pytest.mark.parametrize(
    "path",
    ["/api/appeals/decide", "/api/sanctions", "/api/sanctions/lift", "/api/undo"],
)
def test_moderation_actions_are_for_moderators(app_client: TestClient, path: str) -> None:
    assert app_client.post(path, json={}).status_code == 401
    tina = log_in(app_client, "tina")
    assert post(app_client, tina, path).status_code == 403
    assert app_client.get("/authors/decidim-test/u-2", follow_redirects=False).status_code == 403
