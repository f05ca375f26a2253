"""Word-frequency lexicon for :mod:`pipeline.models.langid`: a fast lexical second opinion.

The ``wordfreq`` wheel ships word-frequency lists (Wikipedia, subtitles, news, books, web text,
...) for most EU languages; its "small" lists hold every word of frequency >= 1e-6 (about
30-60k words per language). They are read once from the installed wheel (nothing is
downloaded) and merged into one table: word -> its frequency in each language, in bytes of
``_UNIT`` (a twentieth of a decade) below 1 (so 0 = every word, 120 = one word in a million;
``_ABSENT`` marks a word the language's list lacks).

A text's lexical score for a language is the sum over its words of log10 frequency, a word
absent from the list counting as ``floor`` (its log10 frequency): a naive-Bayes unigram
likelihood. Unlike fastText's character n-grams it knows whole words, which separates close
relatives (cs/sk, hr/sl, pt/es, da/sv) where a single ending or function word decides.
Languages without a wordfreq list (et, ga, mt) get no lexical score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LEXICON_CODES", "LexicalScores", "Lexicon"]

#: Configured code -> wordfreq list (Croatian uses the Serbo-Croatian list, in Latin script).
_LISTED = "bg cs da de el en es fi fr hu it lt lv nl pl pt ro sk sl sv"
LEXICON_CODES: dict[str, str] = {code: code for code in _LISTED.split(" ")} | {"hr": "sh"}

_UNIT = 20  # steps per decade of frequency
_ABSENT = 255
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'"})


@dataclass(frozen=True, slots=True)
class LexicalScores:
    """``log10`` likelihood per language (higher is better), the share of words each language's
    list knows, and the number of words scored."""

    loglik: dict[str, float]
    known: dict[str, float]
    words: int


class Lexicon:
    """Merged word-frequency table of ``languages`` (those with a wordfreq list)."""

    def __init__(self, languages: Iterable[str]) -> None:
        from wordfreq import get_frequency_list

        codes = [c for c in dict.fromkeys(languages) if c in LEXICON_CODES]
        self.languages: tuple[str, ...] = tuple(codes)
        n = len(codes)
        rows: dict[str, bytearray] = {}
        for i, code in enumerate(codes):
            # bins of centibels: bin k holds the words of frequency 10^(-k/100)
            for cb, bin_words in enumerate(get_frequency_list(LEXICON_CODES[code], "small")):
                if not bin_words:
                    continue
                value = min(_ABSENT - 1, round(cb * _UNIT / 100))
                for word in bin_words:
                    row = rows.get(word)
                    if row is None:
                        row = rows[word] = bytearray([_ABSENT]) * n
                    if row[i] == _ABSENT:
                        row[i] = value
        self._rows: dict[str, bytes] = {w: bytes(r) for w, r in rows.items()}
        self._absent_row = bytes([_ABSENT]) * n

    def __len__(self) -> int:
        return len(self._rows)

    def tokens(self, text: str) -> list[str]:
        """Lower-case (casefolded, as wordfreq stores them) words; a word with an apostrophe
        the lists lack is split into its parts (l'impostazione -> l, impostazione)."""
        out: list[str] = []
        rows = self._rows
        for tok in _TOKEN_RE.findall(text.translate(_APOSTROPHES).casefold()):
            if "'" in tok and tok not in rows:
                out.extend(p for p in tok.split("'") if p)
            else:
                out.append(tok)
        return out

    def scores(self, text: str, floor: float = -7.0) -> LexicalScores:
        """Lexical scores of ``text`` for every lexicon language (``floor``: log10 frequency
        of a word a list lacks)."""
        tokens = self.tokens(text)
        n = len(self.languages)
        if not tokens or not n:
            return LexicalScores({}, {}, 0)
        get, absent = self._rows.get, self._absent_row
        penalty = -floor * _UNIT - _ABSENT  # turns an _ABSENT byte into the floor
        loglik: dict[str, float] = {}
        known: dict[str, float] = {}
        words = len(tokens)
        for code, column in zip(
            self.languages, zip(*[get(t, absent) for t in tokens], strict=True), strict=True
        ):
            missing = column.count(_ABSENT)
            loglik[code] = -(sum(column) + missing * penalty) / _UNIT
            known[code] = 1.0 - missing / words
        return LexicalScores(loglik, known, words)
