"""Language routing and wellbeing decisions for a row: who reads what, what is veiled."""

from __future__ import annotations

from datetime import UTC, datetime

from moderator_ui.accounts import User
from moderator_ui.routing import default_view, shown
from moderator_ui.wellbeing import veil
from pipeline.schemas.contribution import Contribution
from pipeline.schemas.events import LanguageResult, Score, Translation
from pipeline.schemas.queue import QueueItem
from tests.conftest import contribution


def user(**changes: object) -> User:
    base = User(name="ana", role="moderator", password_hash="x", created_at=datetime.now(UTC))
    return base.model_copy(update=changes)


def queued(lang: str, translations: list[Translation], scores: list[Score]) -> QueueItem:
    return QueueItem(
        contribution=Contribution.model_validate(contribution(1)),
        state="needs_review",
        language=LanguageResult(lang=lang, confidence=0.9, reliable=True, method="test"),
        translations=translations,
        scores=scores,
        submitted_at=datetime(2026, 11, 20, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


def test_an_unread_language_is_shown_in_the_moderators_language_or_english() -> None:
    english = Translation(field="body", target_language="en", text="In English", origin="machine")
    german = Translation(field="body", target_language="de", text="Auf Deutsch", origin="machine")
    item = queued("fr", [english], [])
    seen = shown(item, user(language="de"), {"de", "pl"})
    assert (seen.translation, seen.language, seen.unread) == ({"body": "In English"}, "en", True)
    seen = shown(queued("fr", [english, german], []), user(language="de"), {"de"})
    assert (seen.translation, seen.language) == ({"body": "Auf Deutsch"}, "de")
    assert shown(item, user(language="de"), {"fr"}).unread is False


def test_the_default_view_is_the_moderators_languages() -> None:
    assert default_view(user(languages=["pl", "de"])) == "/queue?language=pl,de"
    assert default_view(user()) is None


def test_text_above_the_threshold_is_veiled_unless_the_moderator_turned_it_off() -> None:
    toxic = queued("en", [], [Score(category="insult", value=0.91, model="m")])
    assert veil(toxic, user(), 0.8) == "insult 0.91"
    assert veil(toxic, user(blur=False), 0.8) is None
    assert veil(toxic, user(), 0.95) is None
    spam = queued("en", [], [Score(category="spam", value=0.99, model="m")])
    assert veil(spam, user(), 0.8) is None
