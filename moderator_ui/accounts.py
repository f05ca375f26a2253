"""Staff accounts: moderator, translator, admin; argon2 password hashes, kept in the store.

Accounts live in the store's cache namespace ``users`` (no expiry), so every UI replica and
the CLI see the same ones, and ``hemicycle rebuild`` keeps them.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pipeline.errors import PermanentError
from pipeline.languages import known_language
from pipeline.schemas.envelope import utc_now
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

Role = Literal["moderator", "translator", "admin"]
ROLES: tuple[Role, ...] = ("moderator", "translator", "admin")
USERS: CacheNamespace = "users"
_INDEX = "_index"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(PermanentError, ValueError):
    """A refused account change; the message says why."""


class User(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role
    password_hash: str
    language: str = Field("en", description="Language translations are shown in.")
    languages: list[str] = Field(
        default_factory=list,
        description="Languages the moderator reads: their default queue view (none: all).",
    )
    blur: bool = Field(True, description="Blur text scored above HEMICYCLE_UI_BLUR_ABOVE.")
    created_at: AwareDatetime
    disabled: bool = False
    session_epoch: int = Field(
        0,
        ge=0,
        description="Sessions made under an older epoch are ended: raised on a password change, "
        "a role change and a disable.",
    )

    def can(self, *roles: Role) -> bool:
        return not self.disabled and (self.role in roles or self.role == "admin")


class Accounts:
    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def names(self) -> list[str]:
        names: list[str] = json.loads(self.store.cache_get(USERS, _INDEX) or "[]")
        return names

    def get(self, name: str) -> User | None:
        raw = self.store.cache_get(USERS, name.lower())
        return User.model_validate_json(raw) if raw else None

    def all(self) -> list[User]:
        return [u for name in self.names() if (u := self.get(name)) is not None]

    def _put(self, user: User) -> None:
        self.store.cache_set(USERS, user.name.lower(), user.model_dump_json())
        names = self.names()
        if user.name.lower() not in names:
            self.store.cache_set(USERS, _INDEX, json.dumps(sorted([*names, user.name.lower()])))

    def add(self, name: str, role: str, password: str, *, language: str = "en") -> User:
        if not _NAME.match(name) or name.startswith("_"):
            raise AccountError(
                "user names are 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                "letter or digit"
            )
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
        if self.get(name) is not None:
            raise AccountError(f"user {name!r} exists already")
        user = User(
            name=name,
            role=role,
            password_hash=_hasher.hash(password),
            language=language,
            created_at=utc_now(),
        )
        self._put(user)
        return user

    def set_role(self, name: str, role: str) -> tuple[User, str]:
        """Change a role; returns the user and the previous role."""
        user = self._existing(name)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        before = user.role
        if role != before:
            user.role = role
            user.session_epoch += 1
        self._put(user)
        return user, before

    def set_language(self, name: str, language: str) -> User:
        if not known_language(language):
            raise AccountError(f"unknown language code {language!r}")
        user = self._existing(name)
        user.language = language.lower()
        self._put(user)
        return user

    def set_languages(self, name: str, languages: list[str]) -> User:
        """The languages ``name`` reads (ISO codes; an empty list: no default language view)."""
        codes = list(dict.fromkeys(code.strip().lower() for code in languages if code.strip()))
        unknown = [code for code in codes if not known_language(code)]
        if unknown:
            raise AccountError(f"unknown language code(s): {', '.join(unknown)}")
        user = self._existing(name)
        user.languages = codes
        self._put(user)
        return user

    def set_blur(self, name: str, blur: bool) -> User:
        user = self._existing(name)
        user.blur = blur
        self._put(user)
        return user

    def set_password(self, name: str, password: str) -> User:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
        user = self._existing(name)
        user.password_hash = _hasher.hash(password)
        user.session_epoch += 1
        self._put(user)
        return user

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable (every session ends, no login) or enable an account."""
        user = self._existing(name)
        user.disabled = disabled
        if disabled:
            user.session_epoch += 1
        self._put(user)
        return user

    def _existing(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise AccountError(f"no user {name!r}")
        return user

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password matches (and the account is enabled), else None."""
        user = self.get(name) if _NAME.match(name) else None
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
            self._put(user)
        return user
