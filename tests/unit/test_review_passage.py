"""The review page marks the passage of a long text that scored highest, as escaped text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from moderator_ui.accounts import Accounts
from moderator_ui.app import create_app
from moderator_ui.passage import highest_passage
from pipeline.config import Settings
from pipeline.schemas import Contribution, LanguageResult, Score
from pipeline.schemas.queue import QueueItem
from tests.conftest import contribution

PASSWORD = "long enough password"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
HOSTILE = "You are a <script>alert(1)</script> idiot."
BODY = "We should build more tram lines near the market. " * 20 + HOSTILE


def item(title: str | None = None, **score: object) -> QueueItem:
    offset = len(title) + 1 if title else 0
    start = offset + BODY.index(HOSTILE)
    fields = {"window_start": start, "window_end": start + len(HOSTILE), **score}
    return QueueItem(
        contribution=Contribution.model_validate(contribution(1, body=BODY, title=title)),
        state="needs_review",
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
        scores=[
            Score(category="toxicity", value=0.93, model="m", text_language="en", **fields),
            Score(category="insult", value=0.4, model="m", text_language="en"),
        ],
        submitted_at=NOW,
        updated_at=NOW,
    )


def test_the_passage_is_found_in_the_body_after_the_title() -> None:
    for title in (None, "A title"):
        passage = highest_passage(item(title))
        assert passage is not None
        assert passage.marked == HOSTILE
        assert passage.before + passage.marked + passage.after == BODY
        assert (passage.category, passage.value) == ("toxicity", 0.93)


def test_no_passage_without_windows_or_for_a_translation() -> None:
    assert highest_passage(item(window_start=None, window_end=None)) is None
    assert highest_passage(item(text_source="translation")) is None


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store = app.state.context.store
    Accounts(store).add("moderator", "moderator", PASSWORD)
    store.save(item(), event_id="seed-1", expected_revision=0)
    with TestClient(app) as test_client:
        page = test_client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        test_client.post(
            "/login",
            data={"username": "moderator", "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        yield test_client


def test_the_review_page_marks_the_passage_as_escaped_text(client: TestClient) -> None:
    page = client.get("/items/decidim-test:c-1")
    assert page.status_code == 200
    marked = re.search(r'<mark class="passage"[^>]*>(.*?)</mark>', page.text, re.S)
    assert marked is not None
    assert marked.group(1) == "You are a &lt;script&gt;alert(1)&lt;/script&gt; idiot."
    assert "<script>alert" not in page.text
