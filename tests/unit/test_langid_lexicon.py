"""The lexicon's tables: one per language, a word keeping its most frequent bin, and rows
memoised without changing any score."""

from __future__ import annotations

import math

import pytest
from wordfreq import word_frequency

from pipeline.models import langid_lexicon
from pipeline.models.langid_lexicon import _ABSENT, _UNIT, Lexicon, _table


def test_a_word_in_two_bins_keeps_the_more_frequent_one() -> None:
    table = _table([[], ["der"], [], ["der", "rare"]])
    assert table == {"der": round(1 * _UNIT / 100), "rare": round(3 * _UNIT / 100)}


def test_rows_follow_each_languages_list_and_mark_absent_words() -> None:
    lexicon = Lexicon(["de", "en"])
    row = lexicon._row("und")
    assert len(row) == 2 and row[0] < row[1]  # "und" is common German, rare or absent English
    assert lexicon._row("qxzqxzq") == bytes([_ABSENT, _ABSENT])
    # The byte is wordfreq's frequency on the table's scale (a twentieth of a decade).
    assert abs(-row[0] / _UNIT - math.log10(word_frequency("und", "de"))) < 0.1


def test_a_cleared_memo_gives_the_same_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Der Hund und die Katze", "The dog and the cat", "l'impostazione dell'utente"]
    lexicon = Lexicon(["de", "en", "it"])
    before = [lexicon.scores(t) for t in texts]
    monkeypatch.setattr(langid_lexicon, "_ROW_CACHE", 2)  # cleared on every third new word
    fresh = Lexicon(["de", "en", "it"])
    assert [fresh.scores(t) for t in texts] == before
    assert len(fresh._rows) <= 2
