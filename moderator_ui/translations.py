"""Translator workspace: machine translations to review, corrections, and TMX export.

A correction is a ``TranslationCorrected`` event. Triage makes the translation ``human``; the
translator worker stores it in the translation memory and reuses it for identical text. The
TMX export reads the corrections topic, the log of record, keeping the latest correction of
each field and language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from moderator_ui.audit import AuditLog
from moderator_ui.idempotency import action_ids
from pipeline.api.context import AppContext
from pipeline.privacy import ERASED_TEXT
from pipeline.schemas import TranslationCorrected
from pipeline.schemas.codec import decode_event
from pipeline.schemas.envelope import Trace
from pipeline.schemas.queue import QueueItem
from pipeline.store.base import QueueQuery
from pipeline.store.namespaces import CacheNamespace

OVERLAY: CacheNamespace = "ui-corrected"
OVERLAY_TTL_S = 3600
SCAN_LIMIT = 2000
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class Pair:
    """One field of one contribution: the original and its translation into a language."""

    field: str
    source_language: str | None
    source: str
    text: str
    origin: str
    corrected_here: bool = False


def _overlay_key(cid: str, field: str, lang: str) -> str:
    return f"{cid}|{field}|{lang}"


class Workspace:
    def __init__(self, context: AppContext, audit: AuditLog) -> None:
        self.ctx = context
        self.store = context.store
        self.audit = audit

    def pairs(self, item: QueueItem, lang: str) -> list[Pair]:
        source_language = item.language_code
        originals = {"title": item.contribution.title, "body": item.contribution.body}
        out = []
        for t in item.translations:
            if t.target_language != lang or not originals.get(t.field):
                continue
            pair = Pair(t.field, source_language, originals[t.field] or "", t.text, t.origin)
            pending = self.store.cache_get(
                OVERLAY, _overlay_key(item.contribution_id, t.field, lang)
            )
            if pending is not None and pending != t.text:
                pair.text, pair.origin, pair.corrected_here = pending, "human", True
            out.append(pair)
        if item.language_code != lang:
            out += self._unwritten(item, lang, {p.field for p in out}, originals)
        return sorted(out, key=lambda p: p.field != "title")

    def _unwritten(
        self, item: QueueItem, lang: str, done: set[str], originals: dict[str, str | None]
    ) -> list[Pair]:
        """Fields with no translation into ``lang`` (no model for the pair): a translator
        writes one from nothing (or has just written one, being applied)."""
        out = []
        for name, source in originals.items():
            if not source or name in done:
                continue
            pending = self.store.cache_get(OVERLAY, _overlay_key(item.contribution_id, name, lang))
            if pending is not None:
                out.append(Pair(name, item.language_code, source, pending, "human", True))
            else:
                out.append(Pair(name, item.language_code, source, "", "none"))
        return out

    def to_review(self, lang: str, *, offset: int = 0, limit: int = 50) -> list[QueueItem]:
        """Newest contributions with a machine (or memory) translation into ``lang``, or
        with none at all (no model for the pair: a translator can write one)."""
        found: list[QueueItem] = []
        start, seen = 0, 0
        while len(found) < offset + limit and seen < SCAN_LIMIT:
            page = self.store.query(QueueQuery(order="newest", limit=200, offset=start))
            found += [item for item in page.items if _to_review(item, lang)]
            seen += len(page.items)
            start += 200
            if len(page.items) < 200:
                break
        return found[offset : offset + limit]

    def correct(
        self,
        item: QueueItem,
        field: str,
        lang: str,
        text: str,
        translator: str,
        *,
        address: str,
        idempotency_key: str | None = None,
    ) -> TranslationCorrected:
        """Publish a correction; the same ``idempotency_key`` again is the same event."""
        text = text.strip()
        if not text:
            raise ValueError("nothing saved: the translation is empty, write it first")
        if item.language_code == lang:
            raise ValueError(f"nothing saved: this contribution is written in {lang} already")
        source = item.contribution.title if field == "title" else item.contribution.body
        if not source:
            raise ValueError(f"nothing saved: this contribution has no {field} to translate")
        current = next(
            (t for t in item.translations if (t.field, t.target_language) == (field, lang)), None
        )
        event = TranslationCorrected(
            contribution_id=item.contribution_id,
            contribution_version=item.version,
            field=field,
            target_language=lang,
            text=text,
            translator=translator,
            previous_text=current.text if current is not None else None,
            source_language=item.language_code,
            source_text=source,
            trace=Trace(producer="moderator_ui"),
            **action_ids(
                "correction", translator, idempotency_key, item.contribution_id, field, lang
            ),
        )
        self.store.cache_set(
            OVERLAY, _overlay_key(item.contribution_id, field, lang), text, ttl_s=OVERLAY_TTL_S
        )
        self.ctx.publish([event])
        self.audit.record(
            translator,
            "correction",
            target=item.contribution_id,
            detail=f"{field} → {lang}",
            address=address,
        )
        return event

    def corrections(self, lang: str | None = None) -> list[TranslationCorrected]:
        """The latest correction per (contribution, field, language), from the log."""
        latest: dict[tuple[str, str, str], TranslationCorrected] = {}
        for record in self.ctx.bus.read(self.ctx.settings.topic("corrections")):
            try:
                event = decode_event(record.value, expected=(TranslationCorrected,))
                event = self.ctx.sealer.open(event)
            except ValueError:  # malformed (the dead-letter path's business), or unopenable
                continue
            if event.text == ERASED_TEXT:
                continue  # erased: not in the memory's export either
            if lang and event.target_language != lang:
                continue
            key = (event.contribution_id, event.field, event.target_language)
            if key not in latest or event.occurred_at >= latest[key].occurred_at:
                latest[key] = event
        return sorted(latest.values(), key=lambda e: (e.contribution_id, e.field))

    def tmx(self, lang: str | None = None) -> Iterator[str]:
        """TMX 1.4b: one translation unit per corrected field (source and human target)."""
        yield '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
        yield (
            '  <header creationtool="Hemicycle" creationtoolversion="0.1.0" datatype="plaintext"'
            ' segtype="paragraph" adminlang="en" srclang="*all*" o-tmf="hemicycle"/>\n  <body>\n'
        )
        for e in self.corrections(lang):
            if not e.source_text or not e.source_language:
                continue
            tuid = quoteattr(f"{e.contribution_id}#{e.field}")
            yield (
                f"    <tu tuid={tuid} creationid={quoteattr(e.translator)} "
                f'creationdate="{e.occurred_at:%Y%m%dT%H%M%SZ}">\n'
                f'      <prop type="x-field">{e.field}</prop>\n'
                f'      <tuv xml:lang="{e.source_language}">'
                f"<seg>{_seg(e.source_text)}</seg></tuv>\n"
                f'      <tuv xml:lang="{e.target_language}"><seg>{_seg(e.text)}</seg></tuv>\n'
                "    </tu>\n"
            )
        yield "  </body>\n</tmx>\n"


def _to_review(item: QueueItem, lang: str) -> bool:
    """Whether ``item`` has a machine (or memory) translation into ``lang`` of a non-empty
    field, or a non-empty field with no translation into it at all (a correction being
    applied right now still counts: it shows as human)."""
    if item.language_code is None or item.language_code == lang:
        return False
    fields = {"title": item.contribution.title, "body": item.contribution.body}
    translated = {t.field for t in item.translations if t.target_language == lang}
    return any(
        t.target_language == lang and t.origin != "human" and fields.get(t.field)
        for t in item.translations
    ) or any(text and name not in translated for name, text in fields.items())


def _seg(text: str) -> str:
    return escape(_XML_INVALID.sub("", text))
