# ruff: noqa: RUF001, RUF002, RUF003  (Greek, Cyrillic and CJK text is the point of this module)
"""Offline segmentation of a text into translatable units, and exact reassembly.

``segment`` cuts a text into lines (every line break is kept exactly, so blank lines and single
newlines survive), each line into sentences by offline rules, and any sentence longer than
``max_chars`` into pieces. Everything that is not segment text (the whitespace between
segments, and before the first and after the last) is kept verbatim in :attr:`Segment.leading`
and :attr:`Segmented.trailing`, so::

    reassemble(s, [seg.text for seg in s.segments]) == text   # exactly, for any text

Sentence rules: a sentence ends after ``.`` ``!`` ``?`` ``…`` (and, for Greek, ``;``; the Greek
question mark U+037E always), possibly followed by closing quotes or brackets, when what follows
is whitespace and then an upper-case or caseless letter, a digit or an opening quote, or the
end of the line (in French, a closing ``»`` after a space still belongs to the sentence). CJK
terminators (``。！？``) end a sentence with no space needed. A single ``.`` does not end a
sentence after an abbreviation of the language (``Dr.``, ``z. B.``, ``p. ex.``, ``n.º``,
``e.g.``, ``etc.``), a single letter (initials), a dotted abbreviation (``U.S.``, ``т.е.``), a
list number at the start of a sentence (``1.``), or, in languages that write ordinals with a
dot (German, Polish, Czech, ...), a number of up to three digits (``am 3. Oktober``). Decimals
(``3.5``, ``3,5``), URLs and e-mail addresses never contain a terminator followed by
whitespace, so they are never cut. Known limits, accepted because a merged segment still
translates well: a sentence ending in an abbreviation or initial (``... etc. The``) is not cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """One unit to translate: ``text`` is non-empty and stripped; ``leading`` is verbatim."""

    index: int  # position in the document
    text: str  # what to translate (non-empty, stripped)
    leading: str  # whitespace / separators before it, kept verbatim on reassembly


@dataclass(frozen=True, slots=True)
class Segmented:
    """A segmented text: ``"".join(s.leading + s.text for s in segments) + trailing``."""

    segments: tuple[Segment, ...]
    trailing: str


# --- abbreviations --------------------------------------------------------------------------
# Case-folded, without the final dot. Spaced abbreviations ("z. B.", "p. ex.", "d. h.") are
# covered by the single-letter rule plus their last word; dotted ones without spaces ("z.B.",
# "e.g.", "т.е.") by the dotted-abbreviation rule, and are listed too when they are irregular.
_COMMON = """
e.g i.e etc cf vs approx ca dr prof mr mrs ms st jr sr inc ltd co corp nr art al
jan feb mar apr jun jul aug sep sept oct nov dec
"""
# Only an abbreviation before a number ("No. 5", "Art. 12", "p. 7"): elsewhere a word.
_BEFORE_NUMBER = frozenset({"no", "art", "vol", "fig", "pag", "pp", "nos", "tel", "ch"})

_BY_LANGUAGE: dict[str, str] = {
    "bg": "напр т.е т.нар вкл гр ул бул проф д-р акад доц млн млрд хил чл ал стр др пр г-н "
    "г-жа г-ца вж сп изд",
    "cs": "např tzv tj atd apod aj resp mj č čj ul nám prof ing mgr mudr judr phdr rndr doc "
    "tis mil mld kč str popř př",
    "da": "bl.a f.eks fx dvs osv mht ca nr hr fru jf ang evt m.m mv kl etc st tlf pga iflg",
    "de": "z.b bzw usw u.a d.h ca nr str hr fr evtl ggf inkl vgl bzgl sog z.t mio mrd abs jh "
    "jhd geb gest tel u.ä o.ä z.hd i.a allg bspw dt engl od sa so u.v.m usf ff okt dez "
    "mär bsp max min",
    "el": "π.χ κ.λπ κ.ά δηλ κ κα δρ καθ αρ σελ εκ χλμ μ.χ κ.κ οδ λ.χ βλ τηλ κλπ",
    "en": "mt gen gov rep sen est dept min max hon rev messrs mmes viz",
    "es": "sr sra srta srs dr dra ud uds vd vds p.ej ej núm pág av avda dña d aprox tel n.º "
    "nº cía sta sto",
    "et": "nt jne vms lk nr hr pr mnt tn u vt jm st kl tel",
    "fi": "esim ks mm n nk ns tri tms yms ym ko jne huom s v klo puh",
    "fr": "m mm mme mmes mlle mlles pr ex p.ex etc env av bd ste vol n no chap éd janv févr "
    "avr juil sept oct nov déc c.-à-d c-à-d tél hab cie",
    "ga": "srl lch uimh uas m.sh .i",
    "hr": "npr itd tj tzv ul br sv god str mil mlrd gđa gđica sl",
    "hu": "pl stb ill ún kb ifj id özv krt sz ld vö ezr szept okt febr márc ápr jún júl jan "
    "nov dec tel ker kft zrt bt rt u",
    "it": "sig sigg sig.ra dott dr prof ing avv ecc es pag n on geom rag arch sen dott.ssa "
    "gent egr",
    "lt": "pvz kt t.y pan mln mlrd tūkst str val g a",
    "lv": "piem utt u.c t.sk plkst t.i lpp sk g",
    "mt": "eż nru onor sra sur kap paġ",
    "nl": "dhr mevr mw bijv enz d.w.z o.a m.b.t blz i.p.v t.a.v ir ing drs jl vnl resp mr",
    "pl": "np itd itp m.in tzn tj inż mgr ul nr godz tys mln mld wg ok pt ww płk gen zob pkt "
    "im ks r w",
    "pt": "sr sra srs dr dra exmo exma prof p.ex ex n.º nº pág av v.ex sto sta dto lda",
    "ro": "dl dna dra dr prof nr str etc ex art pag bd dvs d-lui d-na d-ra ș.a ş.a ș.a.m.d ş.a.m.d",
    "sk": "napr tzv tj atď resp č ul nám ing mgr doc tis mil str pí",
    "sl": "npr itd ipd oz tj t.i mag ul št sv gl prim mio mrd str",
    "sv": "bl.a t.ex ex dvs osv m.fl m.m s.k fr.o.m o.s.v d.v.s etc st tel kl ca",
}
_ABBREVIATIONS: dict[str | None, frozenset[str]] = {
    language: frozenset((_COMMON + " " + words).split()) for language, words in _BY_LANGUAGE.items()
}
_ABBREVIATIONS[None] = frozenset(_COMMON.split())

# Languages that write ordinals with a dot ("am 3. Oktober", "3. května", "15. lipca").
_ORDINAL_DOT = frozenset({"cs", "da", "de", "et", "fi", "hr", "hu", "lv", "pl", "sk", "sl"})

# --- characters -----------------------------------------------------------------------------
_LINE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
_CJK_TERMINATORS = "。！？｡"
_TERMINATOR = re.compile(r"[.!?…\u037e。！？｡]+")
_TERMINATOR_EL = re.compile(r"[.!?…;\u037e。！？｡]+")
_CLOSERS = frozenset("\"'”’»›)]}」』）〕】“‘«‹")  # “ ‘ « ‹ close German and Danish quotes
_SPACED_CLOSERS = frozenset("»›")  # French: « Bien. » Merci.
_OPENERS = frozenset("\"'“‘„«‹‚([{¿¡「『（〔【")
_DOTTED = re.compile(r"(?:[^\W\d_]{1,3}\.)+[^\W\d_]{1,3}")
_LIST_MARKER = re.compile(r"\d{1,3}|[ivxlc]{1,5}")
_SHORT_NUMBER = re.compile(r"\d{1,3}")
_CLAUSE_BREAKS = frozenset(",;，；、")
_GLUE = frozenset("\u200d\ufe0e\ufe0f")  # zero-width joiner and variation selectors


def _language(language: str | None) -> str | None:
    """``"pt-BR"`` → ``"pt"``; ``None`` and unknown languages → ``None``."""
    if not language:
        return None
    code = language.replace("_", "-").split("-")[0].casefold()
    return code if code in _BY_LANGUAGE else None


def _sentence_starts(next_char: str) -> bool:
    """Whether ``next_char`` may begin a sentence (upper-case/caseless letter, digit, quote)."""
    if next_char.isalpha():
        return not next_char.islower()
    return next_char.isdigit() or next_char in _OPENERS


def _sentences(line: str, lang: str | None) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of a stripped, non-empty line (unstripped)."""
    abbreviations = _ABBREVIATIONS[lang]
    terminator = _TERMINATOR_EL if lang == "el" else _TERMINATOR
    n = len(line)
    spans: list[tuple[int, int]] = []
    start = 0  # of the current sentence (first non-space character)
    for match in terminator.finditer(line):
        run = match.group()
        end = match.end()
        while end < n and line[end] in _CLOSERS:
            end += 1
        if lang == "fr":
            after = end
            while after < n and line[after].isspace():
                after += 1
            if after < n and line[after] in _SPACED_CLOSERS:
                end = after + 1
                while end < n and line[end] in _CLOSERS:
                    end += 1
        if end >= n:
            break  # the line ends here anyway
        if any(ch in _CJK_TERMINATORS for ch in run):
            next_at = end
            while next_at < n and line[next_at].isspace():
                next_at += 1
        else:
            if not line[end].isspace():
                continue  # "3.5", "example.com", "a.b@c.eu", "Wait...what"
            next_at = end + 1
            while next_at < n and line[next_at].isspace():
                next_at += 1
            if next_at < n and not _sentence_starts(line[next_at]):
                continue
            if run == "." and _keeps_period(
                line,
                match.start(),
                start,
                lang,
                abbreviations,
                next_at < n and line[next_at].isdigit(),
            ):
                continue
        if next_at >= n:
            break  # only whitespace after: the line ends here
        spans.append((start, end))
        start = next_at
    spans.append((start, n))
    return spans


def _keeps_period(
    line: str,
    at: int,
    sentence_start: int,
    lang: str | None,
    abbreviations: frozenset[str],
    before_digit: bool,
) -> bool:
    """Whether the single ``.`` at ``line[at]`` belongs to the word before it."""
    begin = at
    while begin > sentence_start and not line[begin - 1].isspace():
        begin -= 1
    while begin < at and line[begin] in _OPENERS:
        begin += 1
    word = line[begin:at].casefold()
    if not word:
        return False
    if word in abbreviations:
        return True
    if word in _BEFORE_NUMBER:
        return before_digit
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith", the "z." of "z. B."
    if len(word) <= 24 and _DOTTED.fullmatch(word):
        return True  # "U.S", "z.B", "т.е"
    if begin == sentence_start and _LIST_MARKER.fullmatch(word):
        return True  # "1. Introduction", "II. Scope"
    return lang in _ORDINAL_DOT and _SHORT_NUMBER.fullmatch(word) is not None


def _pieces(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split the stripped span ``text[start:end]`` into stripped pieces of ``<= max_chars``.

    Cut after the last comma or semicolon that leaves the piece at least half full, else at
    the last whitespace, else after any comma; only a single word longer than ``max_chars``
    is cut inside, and never between a character and its combining marks or joiners.
    """
    out: list[tuple[int, int]] = []
    while end - start > max_chars:
        limit = start + max_chars  # the piece is text[start:cut], cut <= limit
        clause = space = 0
        for k in range(limit, start, -1):
            ch, before = text[k], text[k - 1]
            if not clause and before in _CLAUSE_BREAKS and (ch.isspace() or before in "，；、"):
                clause = k
            if not space and ch.isspace() and not before.isspace():
                space = k
            if space and clause:
                break
        if clause and clause - start >= max_chars // 2:
            cut = clause
        elif space:
            cut = space
        elif clause:
            cut = clause
        else:
            cut = limit
            while cut > start + 1 and (
                unicodedata.combining(text[cut]) or text[cut] in _GLUE or text[cut - 1] in _GLUE
            ):
                cut -= 1
            if cut == start + 1:
                cut = limit  # nothing but marks and joiners: no better place, keep pieces full
        piece_end = cut
        while text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((start, piece_end))
        start = cut
        while text[start].isspace():
            start += 1
    out.append((start, end))
    return out


def segment(text: str, language: str | None, *, max_chars: int = 400) -> Segmented:
    """Cut ``text`` into segments (lines → sentences → pieces of at most ``max_chars``).

    ``language`` (ISO 639-1, e.g. ``"de"`` or ``"pt-BR"``) picks the abbreviation list and
    the Greek/ordinal rules; ``None`` uses rules common to all languages. Empty or
    whitespace-only text gives no segments and ``trailing == text``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    lang = _language(language)
    spans: list[tuple[int, int]] = []
    for line_match in _LINE.finditer(text):
        lo, hi = line_match.span()
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if lo == hi:
            continue
        for s, e in _sentences(text[lo:hi], lang):
            s, e = lo + s, lo + e
            while text[e - 1].isspace():
                e -= 1
            spans.extend(_pieces(text, s, e, max_chars))
    segments: list[Segment] = []
    previous = 0
    for index, (s, e) in enumerate(spans):
        segments.append(Segment(index, text[s:e], text[previous:s]))
        previous = e
    return Segmented(tuple(segments), text[previous:])


def reassemble(segmented: Segmented, translations: Sequence[str]) -> str:
    """Join translated segments with the original separators (paragraph breaks exactly).

    ``translations[i]`` replaces ``segmented.segments[i].text``; surrounding whitespace of a
    translation is stripped, so the layout is the original's. Raises :class:`ValueError` when
    the number of translations differs from the number of segments.
    """
    if len(translations) != len(segmented.segments):
        raise ValueError(f"{len(translations)} translations for {len(segmented.segments)} segments")
    parts: list[str] = []
    for seg, translated in zip(segmented.segments, translations, strict=True):
        parts.append(seg.leading)
        parts.append(translated.strip())
    parts.append(segmented.trailing)
    return "".join(parts)
