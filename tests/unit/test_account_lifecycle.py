"""Accounts that can be locked and revoked (issue 12, item 7).

Knowing a moderator's name locks out only the guesser's address; a password change, role change
or disable ends every session of the user (CLI and admin page), each with an audit entry; a
cookie reused after logout gets the login page, never HTTP 500.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from moderator_ui.audit import AuditLog
from moderator_ui.security import SESSION_COOKIE
from pipeline.cli import main
from pipeline.config import Settings
from tests.unit.test_ui_endpoints import PASSWORD, csrf, log_in

NEW_PASSWORD = "another long password"


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    accounts = Accounts(app.state.context.store)
    for role in ("moderator", "admin"):
        accounts.add(role, role, PASSWORD)
    with TestClient(app):  # runs the app's lifespan once; the clients below share it
        yield app


def client_at(app: FastAPI, address: str) -> TestClient:
    """A browser at ``address`` (not a context manager: the app's lifespan is the fixture's)."""
    return TestClient(app, client=(address, 40000))


@pytest.fixture
def moderator(app: FastAPI) -> TestClient:
    client = client_at(app, "10.0.0.1")
    assert log_in(client, "moderator").status_code == 303  # type: ignore[attr-defined]
    return client


def logged_in(client: TestClient) -> bool:
    return client.get("/queue", follow_redirects=False).status_code == 200


def audit_actions(app: FastAPI) -> list[tuple[str, str]]:
    entries = AuditLog(app.state.context.store).entries()
    return [(e.action, e.target) for e in entries]


def test_a_guesser_locks_out_only_their_own_address(app: FastAPI) -> None:
    attacker = client_at(app, "203.0.113.9")
    owner = client_at(app, "10.0.0.1")
    for _ in range(app.state.context.settings.ui_login_max_failures):
        assert log_in(attacker, "moderator", "guess").status_code == 401  # type: ignore[attr-defined]
    assert log_in(attacker, "moderator").status_code == 429  # type: ignore[attr-defined]
    assert log_in(owner, "moderator").status_code == 303  # type: ignore[attr-defined]


def test_a_cookie_reused_after_logout_gets_the_login_page(moderator: TestClient) -> None:
    cookie = moderator.cookies[SESSION_COOKIE]
    token = csrf(moderator)
    moderator.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    moderator.cookies.set(SESSION_COOKIE, cookie)
    page = moderator.get("/queue", follow_redirects=False)
    assert page.status_code in (302, 303, 307)
    assert page.headers["location"].startswith("/login")
    assert moderator.get("/api/counts").status_code == 401


def admin_post(app: FastAPI, path: str, **form: str) -> int:
    admin = client_at(app, "10.0.0.2")
    assert log_in(admin, "admin").status_code == 303  # type: ignore[attr-defined]
    token = csrf(admin)
    response = admin.post(path, data={"csrf_token": token, **form}, follow_redirects=False)
    assert logged_in(admin)
    return response.status_code


@pytest.mark.parametrize(
    ("path", "form", "action"),
    [
        ("/admin/users/password", {"password": NEW_PASSWORD}, "password_changed"),
        ("/admin/users/role", {"role": "translator"}, "role_changed"),
        ("/admin/users/disable", {}, "user_disabled"),
    ],
)
def test_the_admin_page_ends_every_session_of_the_user(
    app: FastAPI, moderator: TestClient, path: str, form: dict[str, str], action: str
) -> None:
    second = client_at(app, "10.0.0.3")
    assert log_in(second, "moderator").status_code == 303  # type: ignore[attr-defined]
    assert logged_in(moderator) and logged_in(second)
    assert admin_post(app, path, name="moderator", **form) == 303
    assert not logged_in(moderator)
    assert not logged_in(second)
    assert (action, "moderator") in audit_actions(app)


def test_a_disabled_account_cannot_log_in_until_enabled(app: FastAPI) -> None:
    assert admin_post(app, "/admin/users/disable", name="moderator") == 303
    client = client_at(app, "10.0.0.4")
    assert log_in(client, "moderator").status_code == 401  # type: ignore[attr-defined]
    assert admin_post(app, "/admin/users/enable", name="moderator") == 303
    assert log_in(client, "moderator").status_code == 303  # type: ignore[attr-defined]
    assert ("user_enabled", "moderator") in audit_actions(app)
    assert admin_post(app, "/admin/users/disable", name="admin") == 422  # not oneself


def run_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""
) -> int:
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args])


@pytest.mark.parametrize(
    ("args", "stdin", "action"),
    [
        (("passwd", "moderator", "--password-stdin"), NEW_PASSWORD + "\n", "password_changed"),
        (("set-role", "moderator", "translator"), "", "role_changed"),
        (("disable", "moderator"), "", "user_disabled"),
    ],
)
def test_the_cli_ends_every_session_of_the_user(
    app: FastAPI,
    settings: Settings,
    moderator: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    stdin: str,
    action: str,
) -> None:
    assert logged_in(moderator)
    assert run_cli(settings, monkeypatch, *args, stdin=stdin) == 0
    assert not logged_in(moderator)
    assert (action, "moderator") in audit_actions(app)


def test_users_enable_and_list_show_the_state(
    app: FastAPI,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(settings, monkeypatch, "disable", "moderator") == 0
    assert run_cli(settings, monkeypatch, "list") == 0
    assert re.search(r"^moderator .*disabled$", capsys.readouterr().out, re.M)
    assert run_cli(settings, monkeypatch, "enable", "moderator") == 0
    client = client_at(app, "10.0.0.5")
    assert log_in(client, "moderator").status_code == 303  # type: ignore[attr-defined]
    assert run_cli(settings, monkeypatch, "disable", "nobody") == 2
