"""Rule-based helpers for :mod:`pipeline.models.langid`.

Everything here is general linguistic or typographic knowledge, not fitted to any data set:

- script profile of a text (Latin / Cyrillic / Greek / other letters);
- removal of technical tokens (URLs, command-line options, identifiers, acronyms) that carry no
  language signal and pull statistical models towards English;
- the extra letters of each language's alphabet, used to penalise languages whose orthography
  cannot produce the letters seen in the text;
- a Maltese detector (lingua has no Maltese and fastText often misses it);
- segmentation of a longer text into paragraphs or sentences, for mixed-language detection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ALPHABET_EXTRA",
    "CONFUSABLE_GROUPS",
    "LATIN_ALIASES",
    "MalteseEvidence",
    "ScriptProfile",
    "foreign_letter_share",
    "language_script",
    "maltese_evidence",
    "normalise_hint",
    "script_profile",
    "segments",
    "strip_technical",
]

# --- scripts -------------------------------------------------------------------------------

LETTER_RE = re.compile(r"[^\W\d_]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_CYRILLIC_RE = re.compile(r"[\u0400-\u052f]")
_GREEK_RE = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")

#: fastText labels written in Cyrillic script.
CYRILLIC_LANGUAGES = frozenset(
    "ru uk be bg mk sr kk ky tg mn tt ba cv ce os sah av bxr krc kv lez mhr mrj myv tyv xal "
    "udm rue".split()
)
GREEK_LANGUAGES = frozenset({"el"})
#: fastText labels written in neither Latin, Cyrillic nor Greek script.
OTHER_SCRIPT_LANGUAGES = frozenset(
    "am ar arz as azb bh bn bo bpy ckb dty dv fa gom gu he hi hy ja ka km kn ko lo lrc mai ml "
    "mr my mzn ne new or pa pnb ps sa sd si ta te th ug ur wuu xmf yi yue zh".split()
)


@dataclass(frozen=True, slots=True)
class ScriptProfile:
    """Letter counts of a text by script; ``dominant`` is one of latin/cyrillic/greek/other."""

    letters: int
    dominant: str


def script_profile(text: str) -> ScriptProfile:
    letters = len(LETTER_RE.findall(text))
    if letters == 0 or text.isascii():
        return ScriptProfile(letters, "latin")
    counts = {
        "latin": len(_LATIN_RE.findall(text)),
        "cyrillic": len(_CYRILLIC_RE.findall(text)),
        "greek": len(_GREEK_RE.findall(text)),
    }
    counts["other"] = letters - sum(counts.values())
    return ScriptProfile(letters, max(counts, key=counts.__getitem__))


def language_script(code: str) -> str:
    if code in CYRILLIC_LANGUAGES:
        return "cyrillic"
    if code in GREEK_LANGUAGES:
        return "greek"
    if code in OTHER_SCRIPT_LANGUAGES:
        return "other"
    return "latin"


# --- confusable languages ------------------------------------------------------------------

#: Groups of fastText labels that lid.176 is known to confuse with each other. A fastText answer
#: inside one of these groups needs a higher probability before it is trusted without a second
#: opinion, and disagreements inside a group do not count as "mixed".
CONFUSABLE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"cs", "sk"}),
    frozenset({"hr", "sl", "sr", "bs", "sh"}),
    frozenset({"pt", "es", "gl"}),
    frozenset({"et", "fi"}),
    frozenset({"ga", "en"}),
    frozenset({"da", "sv", "no", "nn"}),
    frozenset({"nl", "de", "af", "lb", "li"}),
    frozenset({"lt", "lv"}),
    frozenset({"mt", "it"}),
)

#: Serbo-Croatian labels: in Latin script lid.176 cannot separate them from Croatian, so their
#: probability is folded into ``hr`` when ``hr`` is configured and they are not.
LATIN_ALIASES: dict[str, str] = {"sh": "hr", "bs": "hr", "sr": "hr"}

# --- technical tokens ----------------------------------------------------------------------

_URL_RE = re.compile(r"(?:https?://|ftp://|www\.)\S+|\S+@\S+\.\w+|[@#]\w+")
_OPTION_RE = re.compile(r"(?<![^\s(\[])--?[A-Za-z][\w-]*(?:=\S*)?")
_TECH_RE = re.compile(r"\b(?:\w*\d\w*|\w*[a-z][A-Z]\w*|\w+(?:[._/\\:]+\w+)+|[A-Z]{2,}\w*)\b")
_SPACES_RE = re.compile(r"\s+")


def strip_technical(text: str, letters: int) -> str:
    """Drop URLs, e-mail addresses, @mentions/#tags, command-line options, tokens with digits,
    camelCase and dotted/slashed identifiers and ASCII acronyms.

    ``letters`` is the letter count of ``text``. The stripped text is returned only if it keeps
    at least half of the letters or 12 of them; otherwise (e.g. a text written in capitals) the
    original is returned unchanged.
    """
    out = _TECH_RE.sub(" ", _OPTION_RE.sub(" ", _URL_RE.sub(" ", text)))
    kept = len(LETTER_RE.findall(out))
    if kept >= 12 or 2 * kept >= letters:
        return _SPACES_RE.sub(" ", out).strip()
    return text


# --- alphabets -----------------------------------------------------------------------------

#: Letters beyond a-z that belong to each Latin-script EU language's orthography (lower case).
ALPHABET_EXTRA: dict[str, str] = {
    "cs": "áčďéěíňóřšťúůýž",
    "da": "æøåé",
    "de": "äöüß",
    "en": "é",
    "es": "áéíóúñü",
    "et": "äöõüšž",
    "fi": "äöåšž",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "ga": "áéíóú",
    "hr": "čćđšž",
    "hu": "áéíóöőúüű",
    "it": "àèéìíîòóùú",
    "lt": "ąčęėįšųūž",
    "lv": "āčēģīķļņšūž",
    "mt": "àèìòùċġħżî",
    "nl": "áéíóúàèëïöüç",
    "pl": "ąćęłńóśźż",
    "pt": "áâãàçéêíóôõú",
    "ro": "ăâîșşțţ",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "sl": "čšžćđ",
    "sv": "åäöé",
}
_WORD_RE = re.compile(r"[^\W\d_]+")


def foreign_letter_share(text: str, languages: tuple[str, ...]) -> dict[str, float]:
    """For each language with a known alphabet: the share of Latin words in ``text`` that
    contain a letter outside that alphabet (0.0 = every word is spellable in it)."""
    words = [w for w in _WORD_RE.findall(text.lower()) if _LATIN_RE.match(w)]
    special = [w for w in words if not w.isascii()]
    if not special:
        return {}
    chars = [set(c for c in w if c > "z") for w in special]
    out: dict[str, float] = {}
    for lang in languages:
        alphabet = ALPHABET_EXTRA.get(lang)
        if alphabet is None:
            continue
        bad = sum(1 for cs in chars if not cs.issubset(alphabet))
        if bad:
            out[lang] = bad / len(words)
    return out


# --- Maltese -------------------------------------------------------------------------------

# ħ ġ ċ and the digraph għ exist in no other EU language; the article is joined with a hyphen,
# assimilating to the following consonant (il-, l-, tal-, fil-, taċ-, iż-, ...).
_MT_STRONG_RE = re.compile(
    r"[ħġċĦĠĊ]|[gG][ħĦ]"
    r"|\b(?:[Ll]|[Ii]l|[Tt]al|[Ff]il|[Bb]il|[Mm]ill|[Gg][ħĦ]all|[Ss]al|[Bb]l|[Ff]l|[Mm]al"
    r"|[Ll]il|[Tt]a[tċdnrsxżz]|[Ii][ċżzxdnrst]|[Ff]i[ċżzxdnrst]|[Bb]i[ċżzxdnrst])-(?=\w)"
)
_MT_PRECHECK_RE = re.compile(r"[ħġċżĦĠĊŻ]|\b\w{1,5}-\w|\b(?:u|li|ta'|ma')\b", re.IGNORECASE)
_MT_WORD_RE = re.compile(r"[^\W\d_]+'?")
_PL_SIGNS_RE = re.compile(r"[ąćęłńśźĄĆĘŁŃŚŹ]|[sScCrRdD][zżZŻ]")
_MT_FUNCTION_WORDS = frozenset(
    "u ta' ma' li huwa hija huma minn jew dan din dawn dak dik għal fuq mhux kull bħala biex "
    "ukoll wkoll jekk meta kien kienet aktar bejn lejn sabiex għandu għandha hemm qed tagħna "
    "tagħhom tiegħu tagħha ħafna sa fejn għax imma anki issa hawn ikun aħna jien".split()
)


@dataclass(frozen=True, slots=True)
class MalteseEvidence:
    """``strong``: Maltese-only features (letters, għ, hyphenated article); ``z_only``: the only
    such feature is ż, which Polish shares; ``score``: (strong + 0.5 * function words) / words."""

    strong: int
    z_only: bool
    score: float


NO_MALTESE = MalteseEvidence(0, False, 0.0)


def maltese_evidence(text: str) -> MalteseEvidence:
    if not _MT_PRECHECK_RE.search(text):
        return NO_MALTESE
    words = _MT_WORD_RE.findall(text.lower())
    if not words:
        return NO_MALTESE
    strong = len(_MT_STRONG_RE.findall(text))
    z_only = False
    if strong == 0:
        z = text.count("ż") + text.count("Ż")
        if z and not _PL_SIGNS_RE.search(text):
            strong, z_only = z, True
    weak = sum(1 for w in words if w in _MT_FUNCTION_WORDS)
    return MalteseEvidence(strong, z_only, (strong + 0.5 * weak) / len(words))


# --- segmentation --------------------------------------------------------------------------

_LINE_RE = re.compile(r"[\r\n]+")
_SENTENCE_RE = re.compile(r"(?<=[.!?;:])\s+(?=\S)")
SEGMENT_BOUNDARY_RE = re.compile(r"[\r\n]|[.!?;:]\s+\S")


def segments(text: str, min_letters: int) -> list[tuple[str, int]]:
    """Split into paragraphs (lines) or, for a single paragraph, sentences; pieces with fewer
    than ``min_letters`` letters are merged into their predecessor. Returns (piece, letters)."""
    pieces = [p for p in _LINE_RE.split(text) if p.strip()]
    if len(pieces) < 2:
        pieces = _SENTENCE_RE.split(text)
    out: list[tuple[str, int]] = []
    for piece in pieces:
        n = len(LETTER_RE.findall(piece))
        if out and (n < min_letters or out[-1][1] < min_letters):
            prev, m = out[-1]
            out[-1] = (prev + " " + piece, m + n)
        else:
            out.append((piece, n))
    return out


# --- hints ---------------------------------------------------------------------------------

_HINT_RE = re.compile(r"^([A-Za-z]{2})(?:$|[-_@.])")


def normalise_hint(hint: str | None) -> str | None:
    """``"de-AT"``, ``"de_AT.UTF-8"`` or ``"DE"`` -> ``"de"``; anything else -> None."""
    if not hint:
        return None
    m = _HINT_RE.match(hint.strip())
    return m.group(1).lower() if m else None
