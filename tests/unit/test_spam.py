"""Spam signals on crafted cases, each with its explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.models.spam import SpamDetector, combine, domain_of
from pipeline.policy import SpamPolicy

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def detector(**overrides: object) -> SpamDetector:
    base = {
        "blocked_domains": ["bit.ly", "spam.example"],
        "allowed_domains": ["europa.eu"],
        "phrases": ["make money from home", "Casino bonus"],
        "burst_max": 3,
        "burst_window_s": 600,
    }
    return SpamDetector(SpamPolicy(**(base | overrides)))


def names(text: str, author: str = "u1", at: datetime = NOW) -> dict[str, str]:
    return {s.name: s.explanation for s in detector().signals(text, author, at)}


def test_clean_text_has_no_signal() -> None:
    text = "We should plant more trees along the river. See https://europa.eu/climate for data."
    assert names(text) == {}


def test_blocked_domain_is_named_and_subdomains_count() -> None:
    found = names("Great offer at https://www.BIT.ly/abc and http://x.spam.example/win")
    assert found["blocked_domain"] == "link to blocked domain bit.ly, x.spam.example"
    assert combine(detector().signals("see bit.ly/abc", "u", NOW)) >= 0.9


def test_many_links_but_allowed_domains_do_not_count() -> None:
    assert "links" in names("a.com/1 b.net/2 c.org/3 and more")
    assert "links" not in names(
        "https://europa.eu/a https://ec.europa.eu/b https://europa.eu/c x.org"
    )
    assert domain_of("https://www.Example.com:8080/path?q=1") == "example.com"


def test_shouting_needs_enough_letters() -> None:
    assert names("THIS CONSULTATION IS A FAKE AND EVERYONE KNOWS IT")["shouting"].endswith(
        "capital letters"
    )
    assert "shouting" not in names("EU OK?")


def test_repetition_of_words_and_punctuation() -> None:
    assert "repetition" in names("buy buy buy buy now now now please buy today")
    assert "repetition" in names("Unbelievable!!!!!!!!")
    assert "repetition" not in names("The river, the park and the school need the same care.")


def test_phrases_match_case_and_accent_insensitively() -> None:
    found = names("You can MAKE  MONEY from home easily")
    assert found["phrase"] == "phrase 'make money from home'"
    assert names("Câsino bonus today")["phrase"] == "phrase 'Casino bonus'"


def test_author_burst_in_a_sliding_window() -> None:
    spam = detector()
    results = [
        spam.signals(f"comment {i}", "busy", NOW + timedelta(seconds=10 * i)) for i in range(5)
    ]
    assert [bool(r) for r in results] == [False, False, False, True, True]
    assert results[3][0].explanation == "author busy posted 4 times in 10 min"
    later = spam.signals("much later", "busy", NOW + timedelta(hours=2))
    assert later == []


def test_combined_score_is_a_noisy_or() -> None:
    spam = detector()
    one = spam.signals("Casino bonus", "a", NOW)
    two = spam.signals("CASINO BONUS FOR EVERYONE WHO SIGNS UP TODAY", "b", NOW)
    assert 0 < combine(one) < combine(two) < 1
