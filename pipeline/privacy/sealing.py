"""Sealing the personal fields of events with their contribution's data key (AES-256-GCM).

What is sealed, in every event that carries it:

* a contribution's ``title``, ``body`` and ``author`` (``ContributionSubmitted``,
  ``LanguageIdentified``);
* translations' ``text`` (``ContributionTranslated``) and a translator's ``text``,
  ``previous_text`` and ``source_text`` (``TranslationCorrected``);
* the author named by ``AuthorSanctioned.author``, an author's appeal (``AppealFiled``
  ``appellant`` and ``statement``), a report's free-text ``details`` (it may quote the text),
  and the author a ``PartyNotified`` is for.

A sealed field is ``enc1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``; the key id is the
associated data, so a token altered to name another key does not open (and one copied into
another event opens only as what it was, with its own contribution's key). The moderation record
— ids, versions, times, scores, reasons, decisions, sanctions' kinds and dates, statements of
reasons — stays readable. A field whose key was erased opens as ``[erased]``; a token that
cannot be opened otherwise (an unknown key, a forged or damaged token) is a
:class:`SealError`: the record is dead-lettered with that reason.

Writers seal what they publish (the API, ``hemicycle ingest``, the moderator UI, every
worker's outputs); readers open what they consume. Plaintext is accepted as input (a platform
producing straight to the input topic): the language-identification worker seals it from the
next topic on.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipeline.errors import PermanentError
from pipeline.privacy.keyring import ERASED_KEY, Erased, Keyring, key_id
from pipeline.schemas.contribution import SEALED_PREFIX
from pipeline.schemas.copying import replaced
from pipeline.schemas.events import (
    ContributionSubmitted,
    ContributionTranslated,
    LanguageIdentified,
    TranslationCorrected,
)
from pipeline.schemas.keys import split_key
from pipeline.schemas.moderation import (
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    PartyNotified,
)

ERASED_TEXT: Final = "[erased]"
NONCE_BYTES = 12


class SealError(PermanentError, ValueError):
    """A sealed field that cannot be opened (not an erased one)."""


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


Transform = Callable[[str | None], str | None]


def _with_fields(event: Any, transform: Transform, only: frozenset[str] | None = None) -> Any:
    """``event`` with ``transform`` applied to each of its personal fields (those named in
    ``only``, when given).

    ``event`` itself when nothing changes (so reading the fields copies nothing).
    """
    if isinstance(event, ContributionSubmitted | LanguageIdentified):
        c = event.contribution
        title: str | None = c.title
        body: str | None = c.body
        author: str | None = c.author
        if only is None or "title" in only:
            title = transform(title)
        if only is None or "body" in only:
            body = transform(body)
        if only is None or "author" in only:
            author = transform(author)
        if (title, body, author) == (c.title, c.body, c.author):
            return event
        inner = replaced(c, {"title": title, "body": body, "author": author})
        return replaced(event, {"contribution": inner})
    if isinstance(event, ContributionTranslated):
        if only is not None and "text" not in only:
            return event
        texts = [transform(t.text) for t in event.translations]
        if texts == [t.text for t in event.translations]:
            return event
        translations = [
            replaced(t, {"text": text}) for t, text in zip(event.translations, texts, strict=True)
        ]
        return replaced(event, {"translations": translations})
    names: tuple[str, ...] = ()
    if isinstance(event, TranslationCorrected):
        names = ("text", "previous_text", "source_text")
    elif isinstance(event, AuthorSanctioned):
        names = ("author",)
    elif isinstance(event, AppealFiled) and event.appellant_role == "author":
        names = ("appellant", "statement")
    elif isinstance(event, ContributionReported) and event.details is not None:
        names = ("details",)
    elif isinstance(event, PartyNotified) and event.recipient_role == "author":
        names = ("recipient",)
    if only is not None:
        names = tuple(n for n in names if n in only)
    update = {n: transform(getattr(event, n)) for n in names}
    if all(value == getattr(event, n) for n, value in update.items()):
        return event
    return replaced(event, update)


def _has_personal_fields(event: Any) -> bool:
    marked = False

    def mark(value: str | None) -> str | None:
        nonlocal marked
        marked = True
        return value

    _with_fields(event, mark)
    return marked


def _tokens(event: Any, only: frozenset[str] | None = None) -> list[str]:
    found: list[str] = []

    def collect(value: str | None) -> str | None:
        if is_sealed(value):
            found.append(value)  # type: ignore[arg-type]
        return value

    _with_fields(event, collect, only)
    return found


def _kid_of(token: str) -> str:
    return token[len(SEALED_PREFIX) :].split(".", 1)[0]


class Sealer:
    """Seals and opens events' personal fields with the keys of a :class:`Keyring`.

    A text this sealer opened is sealed again as the very token it came in (same key, same
    plaintext): a worker passing a contribution on re-publishes its input's ciphertext instead
    of encrypting it anew, and a replayed input gives byte-identical outputs. Erasure is
    unaffected: an erased key is checked before the memo, and seals ``[erased]``.

    A contribution passed on as the very object :meth:`open` made (the language-ID worker's
    outputs) is sealed as the sealed contribution it was opened from, in one step; that is what
    the field-by-field path gives too. Only a contribution whose personal fields all came in
    sealed is remembered so (a plaintext field is sealed as usual), and only until the next
    :meth:`open_many`.

    ``fields`` on :meth:`open` and :meth:`open_many` names the personal fields a reader needs
    (``title``, ``body``, ``author``, ``text``, …); the others stay sealed. A worker opens only
    what it reads: language ID never sees an author in plaintext.
    """

    MEMO_SIZE: ClassVar[int] = 50_000

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers: dict[bytes, AESGCM] = {}
        self._opened: dict[tuple[str, str], str] = {}  # (key id, plaintext) -> its token
        # id(opened contribution) -> (opened contribution, the sealed one it was opened from)
        self._sealed_form: dict[int, tuple[Any, Any]] = {}

    # -- writing ------------------------------------------------------------------------------

    def seal(self, event: Any) -> Any:
        """``event`` with its personal fields sealed (already sealed ones are kept)."""
        if isinstance(event, ContributionSubmitted | LanguageIdentified):
            held = self._sealed_form.get(id(event.contribution))
            sealed = held[1] if held is not None and held[0] is event.contribution else None
            if sealed is not None and self._key_for(event) is not ERASED_KEY:
                return replaced(event, {"contribution": sealed})
        if not _has_personal_fields(event):
            return event
        key = self._key_for(event)
        kid = key_id(event.contribution_id)
        return _with_fields(event, lambda value: self._seal_text(value, kid, key))

    def seal_many(self, events: Sequence[Any]) -> list[Any]:
        self.keyring.keys(key_id(e.contribution_id) for e in events)  # one multi-get
        return [self.seal(e) for e in events]

    def _key_for(self, event: Any) -> bytes | Erased:
        kid = key_id(event.contribution_id)
        known = self.keyring.key(kid)
        if known is not None:
            return known
        if isinstance(event, ContributionSubmitted | LanguageIdentified):
            c = event.contribution
            author = c.author if not is_sealed(c.author) else ""
            return self.keyring.ensure(event.contribution_id, c.platform, author)
        platform = split_key(event.contribution_id)[0]
        return self.keyring.ensure(event.contribution_id, platform, "")

    def _seal_text(self, value: str | None, kid: str, key: bytes | Erased) -> str | None:
        if value is None or is_sealed(value):
            return value
        if key is ERASED_KEY:
            return ERASED_TEXT
        assert isinstance(key, bytes)
        token = self._opened.get((kid, value))
        if token is not None:
            return token
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(key).encrypt(nonce, value.encode("utf-8"), kid.encode())
        return f"{SEALED_PREFIX}{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= self.MEMO_SIZE:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    # -- reading ------------------------------------------------------------------------------

    def open(self, event: Any, fields: frozenset[str] | None = None) -> Any:
        """``event`` with its sealed fields opened (``[erased]`` where the key was erased);
        with ``fields``, only those of its personal fields."""
        tokens = _tokens(event, fields)
        if not tokens:
            return event
        return self._opened_event(event, self.keyring.keys(map(_kid_of, tokens)), fields)

    def open_many(self, events: Iterable[Any], fields: frozenset[str] | None = None) -> list[Any]:
        """:meth:`open` of each event, with one key lookup for them all."""
        self._sealed_form.clear()
        listed = list(events)
        tokens = [_tokens(e, fields) for e in listed]
        keys = self.keyring.keys(_kid_of(t) for found in tokens for t in found)
        return [
            self._opened_event(e, keys, fields) if found else e
            for e, found in zip(listed, tokens, strict=True)
        ]

    def _opened_event(
        self, event: Any, keys: dict[str, bytes | Erased], fields: frozenset[str] | None
    ) -> Any:
        opened = _with_fields(event, lambda value: self._open_text(value, keys), fields)
        if isinstance(event, ContributionSubmitted | LanguageIdentified):
            c = event.contribution
            if all(v is None or is_sealed(v) for v in (c.title, c.body, c.author)):
                if len(self._sealed_form) >= self.MEMO_SIZE:
                    self._sealed_form.clear()
                self._sealed_form[id(opened.contribution)] = (opened.contribution, c)
        return opened

    def _open_text(self, value: str | None, keys: dict[str, bytes | Erased]) -> str | None:
        if value is None or not is_sealed(value):
            return value
        kid, _, payload = value[len(SEALED_PREFIX) :].partition(".")
        key = keys.get(kid)
        if key is ERASED_KEY:
            return ERASED_TEXT
        if key is None:
            raise SealError(f"sealed field: no data key {kid} (not created by this deployment)")
        assert isinstance(key, bytes)
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
            plain = self._cipher(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode())
        except (InvalidTag, ValueError) as exc:
            raise SealError(f"sealed field: cannot be opened with key {kid} ({exc!r})") from None
        text = plain.decode("utf-8")
        if len(self._opened) >= self.MEMO_SIZE:
            self._opened.clear()
        self._opened[(kid, text)] = value
        return text
