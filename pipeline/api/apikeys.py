"""API keys of platforms: ``Authorization: Bearer hmc_<platform>_<random>``.

A key is 24 random bytes (32 URL-safe characters) behind a readable prefix naming its platform.
Only the SHA-256 of the whole key is stored (store cache namespace ``apikeys``, no expiry): a
key this random cannot be guessed from its hash, so a slow password hash would buy nothing and
cost every request. The key itself is shown once, by ``hemicycle apikeys create``.

A revoked key keeps its record with ``revoked_at`` set (the store cache has no delete).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBearer
from pydantic import TypeAdapter, ValidationError

from pipeline.api.context import AppContext
from pipeline.api.models import ApiError, ApiRoute
from pipeline.errors import PermanentError
from pipeline.schemas.codec import describe_validation_error
from pipeline.schemas.keys import Platform
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

NAMESPACE: CacheNamespace = "apikeys"
KEY_PREFIX = "hmc"
_RANDOM_BYTES = 24  # 32 URL-safe characters
_MAX_KEY_CHARS = 512
_PLATFORM = TypeAdapter(Platform)

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="PlatformApiKey",
    description="A platform API key from `hemicycle apikeys create PLATFORM`.",
)


class ApiKeyError(PermanentError, ValueError):
    """An unusable platform name or key; the message says why."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_platform(platform: str) -> str:
    """The platform name as contributions carry it (same rules), or :class:`ApiKeyError`."""
    try:
        return _PLATFORM.validate_python(platform)
    except ValidationError as exc:
        reason = describe_validation_error(exc).removeprefix("payload: ")
        raise ApiKeyError(f"invalid platform {platform!r}: {reason}") from None


def _slug(platform: str) -> str:
    """The readable part of a key: ASCII letters, digits and dashes only (a header value)."""
    return re.sub(r"[^a-z0-9]+", "-", platform.lower()).strip("-")[:24] or "platform"


def create_key(store: QueueStore, platform: str) -> str:
    """A new key for ``platform``; only its hash is stored. Return the key (shown once)."""
    platform = check_platform(platform)
    head = f"{KEY_PREFIX}_{_slug(platform)}_"
    key = head + secrets.token_urlsafe(_RANDOM_BYTES)
    record = {
        "platform": platform,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "prefix": key[: len(head) + 4],  # enough to recognise a key in logs, not to use it
    }
    store.cache_set(NAMESPACE, key_hash(key), json.dumps(record))
    return key


def key_record(store: QueueStore, key: str) -> dict[str, Any] | None:
    """The stored record of ``key`` (revoked or not), or None."""
    if not key or len(key) > _MAX_KEY_CHARS:
        return None
    raw = store.cache_get(NAMESPACE, key_hash(key))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("platform"), str) else None


def revoke_key(store: QueueStore, key: str) -> str:
    """Revoke ``key``; return its platform. :class:`ApiKeyError` if it is not known."""
    record = key_record(store, key.strip())
    if record is None:
        raise ApiKeyError("unknown API key (nothing revoked)")
    if not record.get("revoked_at"):
        record["revoked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        store.cache_set(NAMESPACE, key_hash(key.strip()), json.dumps(record))
    return str(record["platform"])


def authenticate(store: QueueStore, header: str | None) -> str | None:
    """The platform of a valid ``Authorization: Bearer <key>`` header value, else None."""
    scheme, _, key = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    record = key_record(store, key.strip())
    if record is None or record.get("revoked_at"):
        return None
    return str(record["platform"])


def _unauthorized(detail: str, *, invalid_token: bool) -> ApiError:
    challenge = 'Bearer realm="hemicycle"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def authenticator(context: AppContext) -> Callable[[Request], str]:
    """``auth(request) -> platform``, raising 401 :class:`ApiError` with the reason.

    Blocking (one store read): call it from the thread pool in async endpoints. Routers also
    declare :data:`bearer_scheme` as a dependency so ``/docs`` shows the key scheme.
    """

    def require_platform(request: Request) -> str:
        header = request.headers.get("authorization")
        if header is None or not header.strip():
            raise _unauthorized(
                "missing API key: send 'Authorization: Bearer <key>' "
                "(keys come from 'hemicycle apikeys create PLATFORM')",
                invalid_token=False,
            )
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise _unauthorized(
                f"unsupported authorization scheme {scheme[:20]!r}: use 'Bearer <key>'",
                invalid_token=False,
            )
        if not key.strip():
            raise _unauthorized("the Bearer token is empty", invalid_token=True)
        platform = authenticate(context.store, header)
        if platform is None:
            raise _unauthorized("unknown or revoked API key", invalid_token=True)
        return platform

    return require_platform


def keyed_router(
    context: AppContext, prefix: str, tag: str
) -> tuple[APIRouter, Callable[[Request], str]]:
    """A router whose routes need a platform API key (the bearer scheme in the OpenAPI), and
    the check that names the key's platform (:func:`authenticator`)."""
    api = APIRouter(
        prefix=prefix, tags=[tag], route_class=ApiRoute, dependencies=[Depends(bearer_scheme)]
    )
    return api, authenticator(context)
