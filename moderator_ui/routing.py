"""Language routing: the languages each moderator reads set their default queue view, and an
item in a language no moderator reads is shown in translation, with a marker.

A moderator reads the languages set for them (by an admin on the users page, or by themselves
in their settings); one with none set reads the language their translations are shown in.
Such an item is shown in the moderator's translation language, or English when there is no
translation into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from moderator_ui.accounts import Accounts, User
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import UNKNOWN_LANGUAGE

FALLBACK = "en"


def readers(accounts: Accounts) -> set[str]:
    """Every language some enabled moderator (or admin) reads."""
    read: set[str] = set()
    for user in accounts.all():
        if user.can("moderator"):
            read.update(user.languages or [user.language])
    return read


def default_view(user: User) -> str | None:
    """The queue URL a moderator starts from (their languages), None for every language."""
    if not user.languages:
        return None
    return "/queue?" + urlencode({"language": ",".join(user.languages)}, safe=",")


@dataclass
class Shown:
    """The translation a row shows, its language, and whether nobody reads the original."""

    translation: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    unread: bool = False


def _translation(item: QueueItem, language: str) -> dict[str, str]:
    if item.language_code == language:
        return {}
    return {t.field: t.text for t in item.translations if t.target_language == language}


def shown(item: QueueItem, user: User, read: set[str]) -> Shown:
    lang = item.language_code
    unread = bool(lang) and lang != UNKNOWN_LANGUAGE and lang not in read
    translation = _translation(item, user.language)
    if translation or not unread:
        return Shown(translation, user.language if translation else None, unread)
    fallback = _translation(item, FALLBACK)
    return Shown(fallback, FALLBACK if fallback else None, unread)
