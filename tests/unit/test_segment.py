# ruff: noqa: RUF001  (Greek, Cyrillic and CJK sample texts)
"""Offline segmentation: exact round trip, sentence rules per language, long-sentence pieces."""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.models.segment import Segment, Segmented, reassemble, segment


def texts_of(text: str, language: str | None = None, **kwargs: int) -> list[str]:
    return [s.text for s in segment(text, language, **kwargs).segments]


def check_invariants(text: str, result: Segmented, max_chars: int = 400) -> None:
    """The structural promises that make reassembly exact."""
    assert reassemble(result, [s.text for s in result.segments]) == text
    assert "".join(s.leading + s.text for s in result.segments) + result.trailing == text
    for n, seg in enumerate(result.segments):
        assert seg.index == n
        assert seg.text and seg.text == seg.text.strip()
        assert len(seg.text) <= max_chars
        assert seg.leading.strip() == ""  # only whitespace and line breaks between segments
        assert len(seg.text.splitlines()) == 1  # a segment never spans a line break
    assert result.trailing.strip() == ""


ROUND_TRIP = [
    "Hello world.",
    "First paragraph. Still first.\n\nSecond paragraph!\n\n\nThird, after two blank lines.",
    "Windows\r\nnewlines\r\n\r\nand old Mac\rnewlines, mixed\n\rin one text.",
    "  Leading spaces. Trailing spaces.   \n  Indented line.\t\n",
    "Trailing spaces on lines.   \nNext line.  \n\n   \n",
    "Emoji 🎉 are fine! 👩‍👩‍👧 Families too. 🇪🇺 Flags. 👍🏽",
    "Καλημέρα σας. Τι κάνετε; Είμαι καλά, ευχαριστώ!",
    "Здравейте. Как сте? Добре съм, т.е. много добре. Благодаря!",
    "Wir brauchen z. B. mehr Radwege. Die Stadt plant bzw. prüft das. Gut.",
    "Il faut p. ex. plus de bancs. M. Dupont est d'accord. Merci.",
    "Dr. Smith met Mrs. Jones at 3.5 p.m. on Jan. 5. They talked.",
    "Prices rose 3.5 % in 2023. In Germany 3,5 % too. Odd…",
    "See https://example.com/path/page.html?x=1.2&y=3. Then mail a.b@example.eu. Thanks.",
    "Wait... what? I mean… That is it. Really?! Yes.",
    "Non-breaking\u00a0spaces.\u00a0Thin\u2009ones. Ideographic\u3000space.",
    "Line\u2028separator and\u2029paragraph separator.",
    "你好。我很好！谢谢？好的",
    "1. Introduction\n2. Scope\n\n  - a bullet\n  - another bullet.\n",
    "Spaces  inside   a sentence stay.  Two spaces after a period too.",
    "\n\nText after blank lines.",
    "Text\x0bwith\x0cform feeds\x1cand\x85next-line.",
    "Tabs\tin\tthe middle.\tAnd after.",
    "e\u0301te\u0301 — combining accents. Ça va.",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
@pytest.mark.parametrize("language", [None, "en", "de", "fr", "el", "bg"])
def test_exact_round_trip(text: str, language: str | None) -> None:
    check_invariants(text, segment(text, language))


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_exact_round_trip_with_tiny_pieces(text: str) -> None:
    for max_chars in (1, 2, 5, 13):
        check_invariants(text, segment(text, "en", max_chars=max_chars), max_chars)


FRAGMENTS = [
    "Dr. Smith",
    "z. B.",
    "p. ex.",
    "3.5",
    "3,5",
    "e.g.",
    "etc.",
    "https://example.org/a.b?c=d.",
    "mail@example.eu",
    "…",
    "...",
    "?!",
    "Καλημέρα;",
    "Здравей.",
    "🎉",
    "word",
    "Word.",
    "n.º 5",
    "「引用」。",
    "(aside.)",
    '"Quoted."',
    "e\u0301",
    "a" * 30,
]
SEPARATORS = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "\r", " \n ", "\u00a0", "\u2028", ""]


LANGUAGES = [None, "en", "de", "fr", "el", "bg", "pl", "pt-BR", "xx"]


@settings(max_examples=300, deadline=None)
@given(
    first=st.sampled_from(SEPARATORS),
    pieces=st.lists(
        st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=40
    ),
    max_chars=st.sampled_from([1, 7, 20, 60, 400]),
    language=st.sampled_from(LANGUAGES),
)
def test_texts_of_tricky_fragments_round_trip_exactly(
    first: str, pieces: list[tuple[str, str]], max_chars: int, language: str | None
) -> None:
    text = first + "".join(fragment + separator for fragment, separator in pieces)
    check_invariants(text, segment(text, language, max_chars=max_chars), max_chars)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=600),
    max_chars=st.integers(min_value=1, max_value=400),
    language=st.sampled_from(LANGUAGES),
)
def test_any_text_round_trips_exactly(text: str, max_chars: int, language: str | None) -> None:
    check_invariants(text, segment(text, language, max_chars=max_chars), max_chars)


@pytest.mark.parametrize("text", ["", " ", "   ", "\n", "\n\n\n", "\t \r\n \u00a0\u2028"])
def test_empty_or_whitespace_gives_no_segments(text: str) -> None:
    result = segment(text, "en")
    assert result == Segmented((), text)
    assert reassemble(result, []) == text


# --- sentence rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "en",
            'Dr. Smith arrived at 3.5 p.m. yesterday. He said: "Hello!" Then he left.',
            ["Dr. Smith arrived at 3.5 p.m. yesterday.", 'He said: "Hello!"', "Then he left."],
        ),
        (
            "en",
            "We need more trees, e.g. oaks, i.e. natives. Mr. J. R. Doe agrees. Done.",
            ["We need more trees, e.g. oaks, i.e. natives.", "Mr. J. R. Doe agrees.", "Done."],
        ),
        (
            "en",
            "See https://example.com/a.b. Write to a.b@c.eu. Read No. 5 first.",
            ["See https://example.com/a.b.", "Write to a.b@c.eu.", "Read No. 5 first."],
        ),
        ("en", "Wait... what? I mean… That is it.", ["Wait... what?", "I mean…", "That is it."]),
        ("en", "I said no. Then I left.", ["I said no.", "Then I left."]),
        (
            "de",
            "Wir brauchen z. B. mehr Radwege. Am 3. Oktober ist Feiertag. Es kostet 3,5 Mio. "
            "Euro. Siehe z.B. Art. 5 GG. Ende.",
            [
                "Wir brauchen z. B. mehr Radwege.",
                "Am 3. Oktober ist Feiertag.",
                "Es kostet 3,5 Mio. Euro.",
                "Siehe z.B. Art. 5 GG.",
                "Ende.",
            ],
        ),
        (
            "fr",
            "Il faut p. ex. des bancs. M. Dupont est d'accord. « Bien. » Merci !",
            ["Il faut p. ex. des bancs.", "M. Dupont est d'accord.", "« Bien. »", "Merci !"],
        ),
        (
            "es",
            "¿Vienes? ¡Claro! La Sra. García vive en el n.º 5. Adiós.",
            ["¿Vienes?", "¡Claro!", "La Sra. García vive en el n.º 5.", "Adiós."],
        ),
        (
            "pt",
            "O Dr. Silva mora na Rua X, n.º 5. Obrigado.",
            ["O Dr. Silva mora na Rua X, n.º 5.", "Obrigado."],
        ),
        (
            "el",
            "Τι κάνεις; Καλά είμαι, π.χ. σήμερα. Ευχαριστώ!",
            ["Τι κάνεις;", "Καλά είμαι, π.χ. σήμερα.", "Ευχαριστώ!"],
        ),
        (
            "bg",
            "Това е т.е. пример. Проф. Иванов е тук. Второ изречение? Да.",
            ["Това е т.е. пример.", "Проф. Иванов е тук.", "Второ изречение?", "Да."],
        ),
        (
            "pl",
            "Mamy np. parki. Spotkanie 15. Maja było długie. Koniec.",
            ["Mamy np. parki.", "Spotkanie 15. Maja było długie.", "Koniec."],
        ),
        ("it", "Il sig. Rossi è qui. Bene.", ["Il sig. Rossi è qui.", "Bene."]),
        (
            "nl",
            "Dhr. Jansen komt bijv. morgen. Prima.",
            ["Dhr. Jansen komt bijv. morgen.", "Prima."],
        ),
        ("sv", "Vi behöver t.ex. fler träd. Tack.", ["Vi behöver t.ex. fler träd.", "Tack."]),
        ("zh", "你好。我很好！谢谢？好的", ["你好。", "我很好！", "谢谢？", "好的"]),
        ("ja", "「はい。」と言った。終わり", ["「はい。」", "と言った。", "終わり"]),
    ],
)
def test_sentences(language: str, text: str, expected: list[str]) -> None:
    assert texts_of(text, language) == expected


def test_greek_semicolon_ends_a_sentence_only_in_greek() -> None:
    assert len(texts_of("Πού είσαι; Εδώ.", "el")) == 2
    assert len(texts_of("Where; Here.", "en")) == 1
    assert len(texts_of("Πού είσαι\u037e Εδώ.", None)) == 2  # the Greek question mark itself


def test_ordinals_stay_whole_only_in_languages_that_write_them_with_a_dot() -> None:
    assert len(texts_of("Am 3. Oktober. Dann.", "de")) == 2
    assert len(texts_of("We had 3. Then more.", "en")) == 2
    assert len(texts_of("Im Jahr 2020. Dann mehr.", "de")) == 2  # a year, not an ordinal


def test_line_breaks_and_blank_lines_always_separate_and_are_kept() -> None:
    text = "Title line\nbody continues here\n\nNew paragraph.\r\n\r\n\r\nLast"
    result = segment(text, "en")
    assert [s.text for s in result.segments] == [
        "Title line",
        "body continues here",
        "New paragraph.",
        "Last",
    ]
    assert [s.leading for s in result.segments] == ["", "\n", "\n\n", "\r\n\r\n\r\n"]
    assert result.trailing == ""


def test_list_markers_are_not_sentences() -> None:
    assert texts_of("1. Introduction\nII. Scope of work", "en") == [
        "1. Introduction",
        "II. Scope of work",
    ]


def test_language_codes_are_normalised() -> None:
    text = "Ela mora no n.º 5. Sim."
    assert texts_of(text, "pt-BR") == texts_of(text, "PT") == texts_of(text, "pt_PT")
    assert texts_of("Dr. Who. Yes.", "xx") == ["Dr. Who.", "Yes."]  # unknown: common rules


# --- long sentences -------------------------------------------------------------------------


def test_long_sentence_is_split_after_commas_within_max_chars() -> None:
    clause = "the council should plant more trees along the river"
    text = ", ".join([clause] * 30) + "."
    result = segment(text, "en", max_chars=120)
    check_invariants(text, result, 120)
    pieces = [s.text for s in result.segments]
    assert len(pieces) > 1
    assert all(p.endswith((",", ".")) for p in pieces)
    assert all(s.leading == " " for s in result.segments[1:])


def test_long_sentence_without_commas_is_split_between_words() -> None:
    words = [f"word{n}" for n in range(400)]
    text = " ".join(words) + "."
    result = segment(text, "en", max_chars=100)
    check_invariants(text, result, 100)
    assert len(result.segments) > 1
    for seg in result.segments:
        assert all(w in words or w == "word399." for w in seg.text.split())
    # greedy: each piece is as long as it can be without cutting a word
    for seg, following in zip(result.segments, result.segments[1:], strict=False):
        assert len(seg.text) + 1 + len(following.text.split()[0]) > 100


def test_a_single_word_longer_than_max_chars_is_cut_inside_but_not_inside_a_character() -> None:
    text = "x" * 250
    assert [len(t) for t in texts_of(text, None, max_chars=100)] == [100, 100, 50]
    accented = "e\u0301" * 120  # e + combining acute: never separated
    result = segment(accented, None, max_chars=11)
    check_invariants(accented, result, 11)
    assert not any(unicodedata.combining(s.text[0]) for s in result.segments)
    family = "👩\u200d👩\u200d👧" * 20
    result = segment(family, None, max_chars=10)
    check_invariants(family, result, 10)
    assert not any(s.text[0] == "\u200d" or s.text[-1] == "\u200d" for s in result.segments)


def test_segment_rejects_a_non_positive_max_chars() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        segment("text", "en", max_chars=0)


# --- reassembly -----------------------------------------------------------------------------


def test_reassemble_puts_translations_between_the_original_separators() -> None:
    text = "  Hello. How are you?\n\nFine!  \n"
    result = segment(text, "en")
    assert result.segments == (
        Segment(0, "Hello.", "  "),
        Segment(1, "How are you?", " "),
        Segment(2, "Fine!", "\n\n"),
    )
    assert result.trailing == "  \n"
    translated = reassemble(result, ["Bonjour.", " Comment allez-vous ?\n", "Bien !"])
    assert translated == "  Bonjour. Comment allez-vous ?\n\nBien !  \n"


def test_reassemble_rejects_a_wrong_number_of_translations() -> None:
    result = segment("One. Two.", "en")
    with pytest.raises(ValueError, match="2 segments"):
        reassemble(result, ["Un."])


# --- speed ----------------------------------------------------------------------------------


def big_texts() -> list[str]:
    rng = random.Random(5)
    sentences = [
        "Dr. Smith proposed 3.5 km of cycle lanes, e.g. along the river.",
        "Wir brauchen z. B. mehr Bänke!",
        "Τι κάνεις;",
        "See https://example.com/a.b?c=1.",
        "Wait… what?",
    ]
    prose = []
    while sum(map(len, prose)) < 50_000:
        prose.append(rng.choice(sentences) + rng.choice([" ", " ", "\n", "\n\n"]))
    return [
        "".join(prose)[:50_000],
        ("word " * 10_000)[:50_000],  # one huge sentence: split into pieces
        "x" * 50_000,  # one huge word
        ". " * 25_000,  # terminators everywhere
        "a. " * 16_667,  # initials everywhere
        "\n" * 50_000,
        "\u0301" * 50_000,  # combining marks only: no good place to cut, still linear
        "。a" * 25_000,  # CJK terminators, no spaces
    ]


@pytest.mark.parametrize("text", big_texts(), ids=lambda t: repr(t[:12]))
def test_fifty_thousand_characters_segment_whole(text: str) -> None:
    """Hostile 50,000-character texts segment with every invariant kept (their speed is a
    benchmark's business, not a timing assert's)."""
    result = segment(text, "el")
    check_invariants(text, result)
