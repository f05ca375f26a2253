"""Where each platform's webhooks go: the TOML file named by ``HEMICYCLE_WEBHOOKS_FILE``.

::

    [platforms.decidim-bcn]
    url = "https://participa.example.org/hemicycle/webhooks"
    secret = "a long random string shared with the platform"
    events = ["outcomes", "translations", "notices"]   # optional; default: all three

A platform with no entry gets no webhooks (its deliveries are skipped, not failed).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from pipeline.config import ConfigError
from pipeline.schemas.codec import describe_validation_error
from pipeline.schemas.keys import Platform

EventKind = Literal["outcomes", "translations", "notices"]
EVENT_KINDS: tuple[EventKind, ...] = ("outcomes", "translations", "notices")


class WebhookConfigError(ConfigError):
    """Missing or invalid webhooks file; the message names the file, platform and field."""


class PlatformWebhook(BaseModel):
    """One platform's endpoint: where to POST, the signing secret, which events it wants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="http(s) URL receiving the POSTs.")
    secret: SecretStr = Field(description="HMAC-SHA256 key shared with the platform.")
    events: tuple[EventKind, ...] = Field(
        EVENT_KINDS, description='Subset of "outcomes", "translations", "notices".'
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            # The value is not echoed: a URL may carry credentials.
            raise ValueError("must be an http:// or https:// URL with a host name")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: tuple[EventKind, ...]) -> tuple[EventKind, ...]:
        if not value:
            raise ValueError(
                "must name at least one of outcomes, translations "
                "(remove the platform's entry to send it nothing)"
            )
        return tuple(dict.fromkeys(value))

    @property
    def display_url(self) -> str:
        """The URL without credentials, query or fragment: safe for logs and dead letters."""
        return display_url(self.url)

    def wants(self, kind: EventKind) -> bool:
        return kind in self.events


class WebhooksConfig(BaseModel):
    """Every platform's webhook, by platform name (the ``platform`` of its contributions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platforms: dict[Platform, PlatformWebhook] = Field(default_factory=dict)

    def for_platform(self, platform: str) -> PlatformWebhook | None:
        return self.platforms.get(platform)


def display_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def load_webhooks(path: Path) -> WebhooksConfig:
    """Read and validate the webhooks file; :class:`WebhookConfigError` names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WebhookConfigError(f"HEMICYCLE_WEBHOOKS_FILE: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WebhookConfigError(f"HEMICYCLE_WEBHOOKS_FILE: cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WebhookConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return WebhooksConfig.model_validate(data)
    except ValidationError as exc:
        raise WebhookConfigError(f"{path}: {describe_validation_error(exc, limit=10)}") from None
