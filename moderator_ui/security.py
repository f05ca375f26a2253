"""Sessions, CSRF tokens, login rate limiting and the role checks every route declares.

* The session cookie is HttpOnly and SameSite=Lax, and Secure when the request came over
  HTTPS (or ``HEMICYCLE_UI_SECURE_COOKIES``). Only a hash of the session token is stored.
* Every state-changing request carries the session's CSRF token (``X-CSRF-Token`` header or
  ``csrf_token`` form field); the login form uses a double-submit cookie.
* Failed logins are counted per user name *and* client address (limit
  ``HEMICYCLE_UI_LOGIN_MAX_FAILURES``) and per client address (four times that: a venue's staff
  may share one address); past a limit the login from that address is refused for five
  minutes, whatever the password. Knowing a moderator's name therefore locks out only the
  guesser's own address, never the moderator.
* A session records its user's ``session_epoch``; a password change, role change or disable
  raises the epoch, which ends every session of that user at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request, status

from moderator_ui.accounts import Accounts, Role, User
from pipeline.config import Settings
from pipeline.errors import PermanentError
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

SESSION_COOKIE = "hemicycle_session"
LOGIN_CSRF_COOKIE = "hemicycle_login_csrf"
SESSIONS: CacheNamespace = "sessions"
FAILURES: CacheNamespace = "login-failures"
LOCKOUT_S = 300


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token_hash: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookies(request: Request, settings: Settings) -> bool:
    if settings.ui_secure_cookies is not None:
        return settings.ui_secure_cookies
    return request.url.scheme == "https"


class Sessions:
    def __init__(self, store: QueueStore, accounts: Accounts, settings: Settings) -> None:
        self.store = store
        self.accounts = accounts
        self.settings = settings

    def create(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        record = {"user": user.name, "csrf": secrets.token_urlsafe(24), "epoch": user.session_epoch}
        self.store.cache_set(
            SESSIONS, _digest(token), json.dumps(record), ttl_s=self.settings.ui_session_ttl_s
        )
        return token

    def load(self, token: str | None) -> Session | None:
        if not token or len(token) > 100:
            return None
        digest = _digest(token)
        raw = self.store.cache_get(SESSIONS, digest)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        # An ended session's record is "{}" until it expires: no user, no session.
        if not isinstance(record, dict) or not isinstance(record.get("user"), str):
            return None
        user = self.accounts.get(record["user"])
        if user is None or user.disabled or record.get("epoch", 0) != user.session_epoch:
            return None
        return Session(user=user, csrf=str(record.get("csrf", "")), token_hash=digest)

    def end(self, session: Session) -> None:
        self.store.cache_set(SESSIONS, session.token_hash, "{}", ttl_s=1)

    # Rate limiting of failed logins.

    def _failure_keys(self, name: str, address: str) -> list[str]:
        return [json.dumps(["user", name.lower(), address]), f"addr:{address}"]

    def locked_out(self, name: str, address: str) -> bool:
        limit = self.settings.ui_login_max_failures
        user_key, address_key = self._failure_keys(name, address)
        return (
            int(self.store.cache_get(FAILURES, user_key) or 0) >= limit
            or int(self.store.cache_get(FAILURES, address_key) or 0) >= 4 * limit
        )

    def record_failure(self, name: str, address: str) -> None:
        for key in self._failure_keys(name, address):
            count = int(self.store.cache_get(FAILURES, key) or 0) + 1
            self.store.cache_set(FAILURES, key, str(count), ttl_s=LOCKOUT_S)

    def clear_failures(self, name: str, address: str) -> None:
        user_key = self._failure_keys(name, address)[0]
        self.store.cache_set(FAILURES, user_key, "0", ttl_s=1)


class LoginRequired(PermanentError):
    """Raised for a page that needs a login: the app redirects to the login form."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/events"


def require(*roles: Role) -> Callable[[Request], Session]:
    """A dependency: the request's session, if its user has one of ``roles`` (admin always).

    Not logged in: 401 for API calls, a redirect to the login form for pages. Wrong role:
    403. State-changing methods must carry the session's CSRF token.
    """

    def dependency(request: Request) -> Session:
        sessions: Sessions = request.app.state.sessions
        session = sessions.load(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if _wants_json(request):
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(quote(target, safe="/?=&"))
        if not session.user.can(*roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {' or '.join(roles)} role; you are {session.user.role}",
            )
        request.state.session = session
        return session

    return dependency


async def check_csrf(request: Request, session: Session) -> None:
    """Refuse a state-changing request without the session's CSRF token."""
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token: reload")
