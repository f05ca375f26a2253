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
_ROW_CACHE = 200_000  # memoised word rows (~100 bytes each with 21 languages)
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
    """Word-frequency tables of ``languages`` (those with a wordfreq list).

    One dict per language (word -> its byte), built with ``dict.fromkeys`` per frequency bin:
    ~0.15 s, where merging the lists word by word into one table took ~1.5 s at every start of
    a process that identifies languages. A word's row over all languages is made on its first
    lookup and memoised (at most ``_ROW_CACHE`` rows), so a repeated word costs one lookup."""

    def __init__(self, languages: Iterable[str]) -> None:
        from wordfreq import get_frequency_list

        codes = [c for c in dict.fromkeys(languages) if c in LEXICON_CODES]
        self.languages: tuple[str, ...] = tuple(codes)
        self._tables: tuple[dict[str, int], ...] = tuple(
            _table(get_frequency_list(LEXICON_CODES[code], "small")) for code in codes
        )
        self._rows: dict[str, bytes] = {}
        self._absent_row = bytes([_ABSENT]) * len(codes)

    def __len__(self) -> int:
        """Distinct words over every list."""
        return len(set().union(*self._tables))

    def _row(self, word: str) -> bytes:
        """``word``'s byte in every language, in ``languages`` order."""
        row = self._rows.get(word)
        if row is None:
            if len(self._rows) >= _ROW_CACHE:
                self._rows.clear()
            row = self._rows[word] = bytes([t.get(word, _ABSENT) for t in self._tables])
        return row

    def tokens(self, text: str) -> list[str]:
        """Lower-case (casefolded, as wordfreq stores them) words; a word with an apostrophe
        the lists lack is split into its parts (l'impostazione -> l, impostazione)."""
        out: list[str] = []
        for tok in _TOKEN_RE.findall(text.translate(_APOSTROPHES).casefold()):
            if "'" in tok and self._row(tok) == self._absent_row:
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
        penalty = -floor * _UNIT - _ABSENT  # turns an _ABSENT byte into the floor
        loglik: dict[str, float] = {}
        known: dict[str, float] = {}
        words = len(tokens)
        get, row = self._rows.get, self._row
        for code, column in zip(
            self.languages, zip(*[get(t) or row(t) for t in tokens], strict=True), strict=True
        ):
            missing = column.count(_ABSENT)
            loglik[code] = -(sum(column) + missing * penalty) / _UNIT
            known[code] = 1.0 - missing / words
        return LexicalScores(loglik, known, words)


def _table(bins: list[list[str]]) -> dict[str, int]:
    """word -> byte of its most frequent bin (bin k of wordfreq's list holds the words of
    frequency 10^(-k/100)); the rarest bins are written first, so a word listed twice keeps
    its highest frequency."""
    table: dict[str, int] = {}
    for cb in range(len(bins) - 1, -1, -1):
        if bins[cb]:
            table.update(dict.fromkeys(bins[cb], min(_ABSENT - 1, round(cb * _UNIT / 100))))
    return table
