"""Rule-based helpers for :mod:`pipeline.models.langid`.

Everything here is general linguistic or typographic knowledge, not fitted to any data set:

- script profile of a text (Latin / Cyrillic / Greek / other letters);
- removal of technical tokens (URLs, command-line options, identifiers, acronyms) that carry no
  language signal and pull statistical models towards English;
- confusable language groups and the languages lid.176 wrongly answers for their neighbours;
- the alphabet of each language (extra Latin letters; Cyrillic letters it lacks), used to
  penalise languages that cannot spell the text and to prove a text is in another language;
- the most frequent function words of each Latin-script EU language;
- a Maltese detector (lingua has no Maltese and fastText often misses it);
- segmentation of a longer text into paragraphs or sentences, for mixed-language detection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALPHABET_EXTRA",
    "ATTRACTORS",
    "CONFUSABLE_GROUPS",
    "LATIN_ALIASES",
    "MalteseEvidence",
    "ScriptProfile",
    "count_letters",
    "family",
    "foreign_letter_share",
    "function_word_hits",
    "language_script",
    "maltese_evidence",
    "normalise_hint",
    "script_profile",
    "segments",
    "strip_technical",
    "unspellable_share",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- scripts -------------------------------------------------------------------------------

LETTER_RE = re.compile(r"[^\W\d_]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_CYRILLIC_RE = re.compile(r"[\u0400-\u052f]")
_GREEK_RE = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")
_OTHER_LETTER_RE = re.compile(
    r"[^\W\d_A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f]"
)

#: fastText labels written in Cyrillic script.
CYRILLIC_LANGUAGES = _words(
    "ru uk be bg mk sr kk ky tg mn tt ba cv ce os sah av bxr krc kv lez mhr mrj myv tyv xal udm rue"
)
GREEK_LANGUAGES = frozenset({"el"})
#: fastText labels written in neither Latin, Cyrillic nor Greek script.
OTHER_SCRIPT_LANGUAGES = _words(
    "am ar arz as azb bh bn bo bpy ckb dty dv fa gom gu he hi hy ja ka km kn ko lo lrc mai ml "
    "mr my mzn ne new or pa pnb ps sa sd si ta te th ug ur wuu xmf yi yue zh"
)


@dataclass(frozen=True, slots=True)
class ScriptProfile:
    """Letter counts of a text by script; ``dominant`` is one of latin/cyrillic/greek/other."""

    letters: int
    dominant: str


def count_letters(text: str) -> int:
    return sum(map(str.isalpha, text))  # ~3x faster than counting regex matches


def script_profile(text: str) -> ScriptProfile:
    letters = count_letters(text)
    if letters == 0 or text.isascii():
        return ScriptProfile(letters, "latin")
    # Latin-script names and terms are common inside Cyrillic/Greek/other text, rarely the
    # reverse: a non-Latin script with a quarter of the letters decides. (search before
    # counting: most texts have none of these letters at all.)
    counts = {
        script: len(pattern.findall(text)) if pattern.search(text) else 0
        for script, pattern in (
            ("cyrillic", _CYRILLIC_RE),
            ("greek", _GREEK_RE),
            ("other", _OTHER_LETTER_RE),
        )
    }
    script = max(counts, key=counts.__getitem__)
    return ScriptProfile(letters, script if 4 * counts[script] >= letters else "latin")


def language_script(code: str) -> str:
    if code in CYRILLIC_LANGUAGES:
        return "cyrillic"
    if code in GREEK_LANGUAGES:
        return "greek"
    if code in OTHER_SCRIPT_LANGUAGES:
        return "other"
    return "latin"


# --- confusable languages ------------------------------------------------------------------

#: Groups of fastText labels that lid.176 is known to confuse with each other: lingua decides
#: inside a group when fastText is unsure, and disagreements inside a group are not "mixed".
CONFUSABLE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"cs", "sk"}),
    frozenset({"hr", "sl", "sr", "bs", "sh"}),
    frozenset({"pt", "es", "gl"}),
    frozenset({"et", "fi"}),
    frozenset({"ga", "en"}),
    frozenset({"da", "sv", "no", "nn"}),
    frozenset({"nl", "de", "af", "lb", "li"}),
)


def family(code: str) -> str:
    """The confusable group of ``code`` (as a name), or ``code`` itself."""
    for i, group in enumerate(CONFUSABLE_GROUPS):
        if code in group:
            return f"group{i}"
    return code


#: The side of each confusion that lid.176 wrongly answers (sk->cs, sl<->hr, pt->es, et->fi,
#: ga->en, nl->de): when fastText names one of these it needs more probability to be trusted
#: alone. On held-out gettext catalogs (texts of 20+ letters) fastText's answer above 0.7 was
#: wrong about 1% of the time for these and about 0.1% for the other languages.
ATTRACTORS = frozenset({"cs", "hr", "sl", "es", "fi", "en", "de"})

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
    kept = count_letters(out)
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
    "sl": "čšž",
    "sv": "åäöé",
}
_ALPHABET_SETS = {code: frozenset(extra) for code, extra in ALPHABET_EXTRA.items()}
_WORD_RE = re.compile(r"[^\W\d_]+")


def foreign_letter_share(text: str, languages: tuple[str, ...]) -> dict[str, float]:
    """For each language with a known alphabet: the share of Latin words in ``text`` that
    contain a letter outside that alphabet (0.0 = every word is spellable in it)."""
    words = [w for w in _WORD_RE.findall(text.lower()) if _LATIN_RE.match(w)]
    special = [w for w in words if not w.isascii()]
    if not special:
        return {}
    chars = [frozenset(c for c in w if c > "z") for w in special]
    every = frozenset().union(*chars)
    out: dict[str, float] = {}
    for lang in languages:
        alphabet = _ALPHABET_SETS.get(lang)
        if alphabet is None or every <= alphabet:  # the usual case: every word spellable
            continue
        bad = sum(1 for cs in chars if not cs <= alphabet)
        if bad:
            out[lang] = bad / len(words)
    return out


#: Cyrillic letters that each language's alphabet lacks: a text containing none of them can be
#: written in that language, however sure fastText is of a sister language.
CYRILLIC_FOREIGN: dict[str, frozenset[str]] = {
    "bg": frozenset("ыэёіїєґўјљњћђџѓќѕ"),
    "ru": frozenset("іїєґўјљњћђџѓќѕѝ"),
    "uk": frozenset("ыэёъўјљњћђџѓќѕ"),
    "mk": frozenset("йщъьюяыэёіїєґўћђ"),
    "sr": frozenset("йщъьюяыэёіїєґўѓќѕ"),
}


def _spellable(word: str, language: str) -> bool | None:
    extra = ALPHABET_EXTRA.get(language)
    if extra is not None:
        return all("a" <= c <= "z" or c in extra for c in word)
    foreign = CYRILLIC_FOREIGN.get(language)
    if foreign is not None:
        return all("\u0430" <= c <= "\u045f" and c not in foreign for c in word)
    return None


def unspellable_share(text: str, script: str, languages: Iterable[str]) -> float:
    """Share of the ``script`` words of ``text`` that none of ``languages`` can spell (lower
    case, their letters outside every alphabet); 0.0 when an alphabet is unknown."""
    langs = [lang for lang in languages if lang in ALPHABET_EXTRA or lang in CYRILLIC_FOREIGN]
    if not langs or len(langs) < sum(1 for _ in languages):
        return 0.0
    first = _LATIN_RE if script == "latin" else _CYRILLIC_RE if script == "cyrillic" else None
    if first is None:
        return 0.0
    words = [w for w in _WORD_RE.findall(text.lower()) if first.match(w)]
    if not words:
        return 0.0
    bad = sum(1 for w in words if not any(_spellable(w, lang) for lang in langs))
    return bad / len(words)


# --- function words ------------------------------------------------------------------------

#: The most frequent function words of each Latin-script EU language (general knowledge, not
#: fitted to any data).
#: Words shared by several languages lift them all alike; the exclusive ones (cs "jsou" / sk
#: "sú", hr "i u su" / sl "in v so", pt "o do não" / es "el del y") separate close relatives.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    code: _words(words)
    for code, words in {
        "cs": "a v se na je že s z do to o k i pro jsou ale jak by za od po ve není nebo být "
        "byl jsem které který",
        "da": "og i at det en er til på de den med af for som ikke et har kan vil var fra eller "
        "skal ved om",
        "de": "der die das und ist nicht zu den von mit sich des auf für im dem ein eine als auch "
        "es an werden aus er sie kann oder wird bei",
        "en": "the and of to is in that for it with as on be are this by not or from at an was "
        "can will have you",
        "es": "el la de que y en los del se las por un una con no para es al lo como más pero "
        "sus le ya o este porque esta entre cuando muy sin sobre",
        "et": "ja on ei et see ka kui oli mis ta nii aga ning siis või oma seda selle kas ole",
        "fi": "ja on ei se että oli hän ovat mutta tai kun niin myös sen tämä jos ole vain voi",
        "fr": "le la les de des et en un une du est que qui dans pour pas au sur par avec ce il ne "
        "se plus sont ou vous",
        "ga": "an na agus ar is i le do ag a go bhí sé sí níl ní tá chun ach nó seo sin faoi mar "
        "ón leis",
        "hr": "i je u na se da za su od ne s koji što kao iz ili će bi to a ali po do biti sam "
        "kako samo nije",
        "hu": "a az és hogy nem is egy van meg de csak már ez mint volt vagy el ki fel még kell "
        "lesz",
        "it": "il di che e la per un in non una del sono è le dei della con si al da lo gli nel "
        "alla più come ma",
        "lt": "ir yra kad tai į su per ne kaip iš o bet ar jis ji buvo nuo apie dėl jo",
        "lv": "un ir ar kas ka uz par no nav tas es bet vai lai arī kā to tā viņš",
        "mt": "u ta' ma' li huwa hija huma minn jew dan din dawn dak dik għal fuq mhux kull bħala "
        "biex ukoll wkoll jekk meta kien kienet aktar bejn lejn sabiex hemm qed tagħna tagħhom "
        "tiegħu tagħha ħafna sa fejn għax imma anki issa hawn ikun aħna jien",
        "nl": "de het een en van in is dat op te met voor niet zijn er aan als ook door bij of "
        "maar om wordt deze dit je",
        "pl": "i w na z do się nie że to jest o jak ale po co od za są przez tak dla jego lub czy",
        "pt": "o a os as de do da dos das e em no na um uma que não com para por se é ao mais "
        "como mas foi pelo pela",
        "ro": "și în de la cu pe care nu o un este se din ce sunt mai pentru sau să fi al a ale "
        "lui",
        "sk": "a v sa na je že s z do to o k aj pre sú ale ako by za od po vo nie alebo byť bol "
        "som ktoré ktorý",
        "sl": "in je v na se da za so z s ne ki pa bo tudi ali kot iz po do od to sem biti",
        "sv": "och i att det som en är på för med till av den inte har de ett om var jag men kan "
        "eller",
    }.items()
}
_TOKEN_RE = re.compile(r"[^\W\d_]+'?")


def function_word_hits(text: str, languages: Iterable[str]) -> dict[str, int]:
    """Number of tokens of ``text`` that are function words of each language (zeros omitted)."""
    tokens = _TOKEN_RE.findall(text.lower())
    out: dict[str, int] = {}
    for lang in languages:
        words = FUNCTION_WORDS.get(lang)
        if words is not None:
            hits = sum(1 for t in tokens if t in words)
            if hits:
                out[lang] = hits
    return out


# --- Maltese -------------------------------------------------------------------------------

# ħ ġ ċ exist in no other EU language (ħ also covers the digraph għ). The article is written with
# a hyphen: il-/l- and its compounds (tal-, fil-, bil-, mill-, għall-, ...) are distinctive; the
# forms assimilated to the next consonant (taċ-, tad-, it-, is-, in-, ...) look like compounds
# of other languages ("in-house", "tar-file") and so, like ż (shared with Polish), weigh less.
_MT_LETTERS_RE = re.compile(r"[ħġċĦĠĊ]")
_MT_CHARS_RE = re.compile(r"[ħġċżĦĠĊŻ]")
_MT_ARTICLE_RE = re.compile(
    r"\b(?:[Ll]|[Ii]l|[Tt]al|[Ff]il|[Bb]il|[Mm]ill|[Gg][ħĦ]all|[Ss]al|[Bb]l|[Ff]l|[Mm]al|[Ll]il)"
    r"-(?=[^\W\d_])"
)
_MT_ASSIMILATED_RE = re.compile(r"\b(?:[Tt]a|[Ii]|[Ff]i|[Bb]i)[ċżzxdnrst]-(?=[^\W\d_])")
_MT_PRECHECK_RE = re.compile(
    "|".join(p.pattern for p in (_MT_LETTERS_RE, _MT_ARTICLE_RE, _MT_ASSIMILATED_RE)) + "|[żŻ]"
)  # without one of these (strong or medium evidence) a text is never taken for Maltese
_PL_SIGNS_RE = re.compile(r"[ąćęłńśźĄĆĘŁŃŚŹ]|[sScCrRdD][zżZŻ]")


@dataclass(frozen=True, slots=True)
class MalteseEvidence:
    """Counts of Maltese features: ``strong`` (ħ ġ ċ, il-/tal-/... article), ``medium``
    (assimilated article, ż in text without Polish signs), ``weak`` (function words)."""

    strong: int
    medium: int
    weak: int
    words: int

    @property
    def score(self) -> float:
        return (2 * self.strong + self.medium + 0.5 * self.weak) / max(self.words, 1)

    def is_maltese(self, polish_probability: float = 0.0) -> bool:
        """Enough evidence, in density (score >= 0.15) and in kind; ż-type evidence alone
        yields to a fastText that is sure (>= 0.9) the text is Polish."""
        if self.score < 0.15:
            return False
        if self.strong:
            return True
        enough = self.medium >= 2 or (self.medium >= 1 and self.weak >= 1)
        return enough and polish_probability < 0.9


NO_MALTESE = MalteseEvidence(0, 0, 0, 0)


def maltese_evidence(text: str) -> MalteseEvidence:
    if "-" not in text and not _MT_CHARS_RE.search(text):  # the usual case, decided fast
        return NO_MALTESE
    if not _MT_PRECHECK_RE.search(text):
        return NO_MALTESE
    words = _TOKEN_RE.findall(text.lower())
    if not words:
        return NO_MALTESE
    strong = len(_MT_LETTERS_RE.findall(text)) + len(_MT_ARTICLE_RE.findall(text))
    medium = len(_MT_ASSIMILATED_RE.findall(text))
    if not _PL_SIGNS_RE.search(text):
        medium += text.count("ż") + text.count("Ż")
    mt_words = FUNCTION_WORDS["mt"]
    weak = sum(1 for w in words if w in mt_words)
    return MalteseEvidence(strong, medium, weak, len(words))


# --- segmentation --------------------------------------------------------------------------

_LINE_RE = re.compile(r"[\r\n]+")
_SENTENCE_RE = re.compile(r"(?<=[.!?;:])\s+(?=\S)")
SEGMENT_BOUNDARY_RE = re.compile(r"[\r\n]|[.!?;:]\s+\S")


def segments(text: str, min_letters: int, max_segments: int = 4) -> list[tuple[str, int]]:
    """Split into paragraphs (lines) or, for a single paragraph, sentences, then merge neighbours
    into at most about ``max_segments`` chunks of at least ``min_letters`` letters each (so that
    checking them costs about one more pass over the text). Returns (chunk, letters) pairs."""
    pieces = [p for p in _LINE_RE.split(text) if p.strip()]
    if len(pieces) < 2:
        pieces = _SENTENCE_RE.split(text)
    counts = [count_letters(p) for p in pieces]
    target = max(min_letters, sum(counts) // max_segments)
    out: list[tuple[str, int]] = []
    chunk: list[str] = []
    n = 0
    for piece, k in zip(pieces, counts, strict=True):
        chunk.append(piece)
        n += k
        if n >= target:
            out.append((" ".join(chunk), n))
            chunk, n = [], 0
    if chunk:
        if out and n < min_letters:
            prev, m = out[-1]
            out[-1] = (prev + " " + " ".join(chunk), m + n)
        else:
            out.append((" ".join(chunk), n))
    return out


# --- hints ---------------------------------------------------------------------------------

_HINT_RE = re.compile(r"^([A-Za-z]{2})(?:$|[-_@.])")


def normalise_hint(hint: str | None) -> str | None:
    """``"de-AT"``, ``"de_AT.UTF-8"`` or ``"DE"`` -> ``"de"``; anything else -> None."""
    if not hint:
        return None
    m = _HINT_RE.match(hint.strip())
    return m.group(1).lower() if m else None
