"""Every UI endpoint for every role; sessions, CSRF, rate limiting, the audit log."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from pipeline.cli import main
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult, ModerationDecided
from pipeline.schemas.codec import decode_event
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueStore
from tests.conftest import contribution

PASSWORD = "long enough password"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
CID = "decidim-test:c-1"


def queue_item(n: int, **update: object) -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(n, author="=HYPERLINK(evil)")),
        state="needs_review",
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
        submitted_at=NOW,
        updated_at=NOW,
    ).model_copy(update=update)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store: QueueStore = app.state.context.store
    accounts = Accounts(store)
    for role in ("moderator", "translator", "admin"):
        accounts.add(role, role, PASSWORD)
    for n in range(1, 4):
        store.save(queue_item(n), event_id=f"seed-{n}", expected_revision=0)
    with TestClient(app) as test_client:
        yield test_client


def log_in(client: TestClient, name: str, password: str = PASSWORD, **form: str) -> object:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token.group(1), **form},
        follow_redirects=False,
    )


def csrf(client: TestClient) -> str:
    page = client.get("/settings")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


# (method, path, JSON body or None, roles allowed; admin may do everything)
ROUTES = [
    ("GET", "/queue", None, {"moderator"}),
    ("GET", "/queue/rows", None, {"moderator"}),
    ("GET", f"/items/{CID}", None, {"moderator"}),
    ("GET", "/api/counts", None, {"moderator"}),
    ("POST", "/api/claim", {"cid": CID}, {"moderator"}),
    ("POST", "/api/release", {"cid": CID}, {"moderator"}),
    (
        "POST",
        "/api/decide",
        {"cid": CID, "decision": "approve", "seen_version": 1, "seen_decisions": 0},
        {"moderator"},
    ),
    ("POST", "/api/bulk", {"decision": "approve", "ids": ["decidim-test:c-2"]}, {"moderator"}),
    ("POST", "/api/next", {"view": "order=oldest"}, {"moderator"}),
    ("POST", "/api/renew", {"cid": CID, "active": True}, {"moderator"}),
    ("POST", "/api/views", {"name": "mine", "view": "language=en"}, {"moderator"}),
    ("POST", "/api/views/delete", {"name": "mine"}, {"moderator"}),
    ("GET", "/translate?lang=de", None, {"translator"}),
    ("GET", f"/translate/item/{CID}?lang=de", None, {"translator"}),
    ("GET", "/translate/export.tmx", None, {"translator"}),
    (
        "POST",
        "/api/translations",
        {"cid": CID, "field": "body", "lang": "de", "text": "x"},
        {"translator"},
    ),
    ("GET", "/audit", None, set()),
    ("GET", "/audit.csv", None, set()),
    ("GET", "/admin/users", None, set()),
    ("GET", "/settings", None, {"moderator", "translator"}),
    ("GET", "/operations", None, {"moderator"}),
    ("GET", "/api/operations", None, {"moderator"}),
]


@pytest.mark.parametrize("role", ["anonymous", "moderator", "translator", "admin"])
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_every_endpoint_checks_the_role(
    client: TestClient,
    role: str,
    method: str,
    path: str,
    body: dict | None,
    allowed: set[str],
) -> None:
    headers = {}
    if role != "anonymous":
        assert log_in(client, role).status_code == 303
        headers["X-CSRF-Token"] = csrf(client)
    response = client.request(method, path, json=body, headers=headers, follow_redirects=False)
    if role == "anonymous":
        if path.startswith("/api/"):
            assert response.status_code == 401
        else:
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")
    elif role in allowed or role == "admin":
        # Allowed: the endpoint answers (the translation correction finds no German text: 422).
        assert response.status_code in (200, 422), response.text
    else:
        assert response.status_code == 403


def test_state_changing_requests_need_the_csrf_token(client: TestClient) -> None:
    log_in(client, "moderator")
    body = {"cid": CID, "decision": "approve", "seen_version": 1, "seen_decisions": 0}
    assert client.post("/api/decide", json=body).status_code == 403
    wrong = client.post("/api/decide", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_session_cookie_flags_and_secure_over_https(settings: Settings) -> None:
    app = create_app(settings)
    Accounts(app.state.context.store).add("moderator", "moderator", PASSWORD)
    with TestClient(app, base_url="https://hemicycle.example") as https:
        response = log_in(https, "moderator")
        cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    with TestClient(create_app(settings)) as plain:
        cookie = log_in(plain, "moderator").headers["set-cookie"]  # type: ignore[attr-defined]
        assert "HttpOnly" in cookie and "Secure" not in cookie


def test_logins_are_rate_limited_and_logout_ends_the_session(client: TestClient) -> None:
    for _ in range(5):
        assert log_in(client, "moderator", "wrong password").status_code == 401  # type: ignore[attr-defined]
    locked = log_in(client, "moderator")
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed attempts" in locked.text  # type: ignore[attr-defined]
    assert log_in(client, "admin").status_code == 303  # type: ignore[attr-defined]
    token = csrf(client)
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client: TestClient) -> None:
    response = log_in(client, "moderator", next="//evil.example/x")
    assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_a_decision_is_an_event_and_shows_at_once(client: TestClient, settings: Settings) -> None:
    log_in(client, "moderator")
    token = csrf(client)
    body = {
        "cid": CID,
        "decision": "reject",
        "reason_code": "personal_data",
        "statement": "Phone number in the text.",
        "seen_version": 1,
        "seen_decisions": 0,
    }
    response = client.post("/api/decide", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["applying"]) == ("rejected", True)
    # Read-your-writes: the item left the needs-review list before triage applied it.
    assert CID not in client.get("/queue/rows").text
    context = client.app.state.context  # type: ignore[attr-defined]
    [record] = context.bus.read(settings.topic("decisions"))
    event = decode_event(record.value, expected=(ModerationDecided,))
    assert (event.decision, event.moderator, event.reason_code) == (
        "reject",
        "moderator",
        "personal_data",
    )
    assert event.seen_decisions == 0
    # A rejection needs a reason from the taxonomy; an escalation needs a note.
    bad = dict(body, cid="decidim-test:c-2", reason_code="because")
    assert client.post("/api/decide", json=bad, headers={"X-CSRF-Token": token}).status_code == 422
    note = dict(body, cid="decidim-test:c-2", decision="escalate", statement=" ")
    assert client.post("/api/decide", json=note, headers={"X-CSRF-Token": token}).status_code == 422


def test_a_retried_or_double_submitted_action_is_one_event(
    client: TestClient, settings: Settings
) -> None:
    """The page's idempotency key: the same action again is answered as done, not a 409, and
    publishes nothing new; a bulk action retried decides each item once."""
    log_in(client, "moderator")
    token = csrf(client)
    body = {
        "cid": CID,
        "decision": "approve",
        "seen_version": 1,
        "seen_decisions": 0,
        "idempotency_key": "k-3f2a9c1d",
    }
    first = client.post("/api/decide", json=body, headers={"X-CSRF-Token": token})
    again = client.post("/api/decide", json=body, headers={"X-CSRF-Token": token})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["state"] == "approved"
    context = client.app.state.context  # type: ignore[attr-defined]
    assert len(context.bus.read(settings.topic("decisions"))) == 1
    # Another action (another key) on the same stale view is a conflict, as before.
    other = dict(body, idempotency_key="k-77aa0b12")
    assert (
        client.post("/api/decide", json=other, headers={"X-CSRF-Token": token}).status_code == 409
    )
    bulk = {
        "decision": "reject",
        "reason_code": "spam",
        "ids": ["decidim-test:c-2", "decidim-test:c-3"],
        "idempotency_key": "bulk-5c0ffee1",
    }
    one = client.post("/api/bulk", json=bulk, headers={"X-CSRF-Token": token}).json()
    two = client.post("/api/bulk", json=bulk, headers={"X-CSRF-Token": token}).json()
    assert (
        sorted(one["decided"]) == sorted(two["decided"]) == ["decidim-test:c-2", "decidim-test:c-3"]
    )
    events = [
        decode_event(r.value, expected=(ModerationDecided,))
        for r in context.bus.read(settings.topic("decisions"))
    ]
    assert len(events) == 3 and len({e.event_id for e in events}) == 3
    assert len({e.bulk_id for e in events[1:]}) == 1


def test_a_claimed_item_cannot_be_decided_by_another(
    client: TestClient, settings: Settings
) -> None:
    context = client.app.state.context  # type: ignore[attr-defined]
    context.store.claim(CID, "someone-else", 60)
    log_in(client, "moderator")
    page = client.get(f"/items/{CID}")
    assert "someone-else</strong> is reviewing this item" in page.text
    body = {"cid": CID, "decision": "approve", "seen_version": 1, "seen_decisions": 0}
    response = client.post("/api/decide", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert response.status_code == 423
    assert response.json()["holder"] == "someone-else"


def test_queue_filters_paginate_and_refuse_nonsense(client: TestClient) -> None:
    log_in(client, "moderator")
    assert client.get("/queue?min=7").status_code == 400
    assert client.get("/queue?order=sideways").status_code == 400
    page = client.get("/queue?language=en&order=oldest")
    assert page.text.count("data-cid=") == 3
    assert client.get("/queue?language=fr").text.count("data-cid=") == 0


def test_the_audit_log_records_who_did_what_and_exports_csv(client: TestClient) -> None:
    log_in(client, "wrong-name", "nope")
    log_in(client, "moderator")
    client.get(f"/items/{CID}")
    client.post(
        "/api/decide",
        json={"cid": CID, "decision": "approve", "seen_version": 1, "seen_decisions": 0},
        headers={"X-CSRF-Token": csrf(client)},
    )
    log_in(client, "admin")
    token = csrf(client)
    client.post(
        "/admin/users/role",
        data={"csrf_token": token, "name": "translator", "role": "moderator", "reason": "event"},
    )
    page = client.get("/audit?action=decision")
    cells = re.findall(
        r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", page.text
    )
    assert cells == [("moderator", "decision", CID)]
    rows = list(csv.DictReader(io.StringIO(client.get("/audit.csv").text)))
    actions = [r["action"] for r in rows]
    for expected in ("login_failed", "login", "claim", "decision", "role_changed"):
        assert expected in actions
    role = next(r for r in rows if r["action"] == "role_changed")
    assert (role["actor"], role["target"], role["detail"], role["reason"]) == (
        "admin",
        "translator",
        "translator → moderator",
        "event",
    )


def test_users_cli_adds_with_a_password_from_stdin(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-enough\n"))
    assert main(["users", "add", "maria", "--role", "translator", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "otto", "--role", "moderator", "--password-stdin"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "set-role", "maria", "admin"]) == 0
    assert main(["users", "list"]) == 0
    assert re.search(r"maria\s+admin", capsys.readouterr().out)
    app = create_app(Settings(data_dir=settings.data_dir))
    user = Accounts(app.state.context.store).verify("maria", "s3cret-enough")
    assert user is not None and user.role == "admin"
    assert user.password_hash.startswith("$argon2")
