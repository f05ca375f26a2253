"""Coral's external moderation phase: signature, fast synchronous judgement, answer shape."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api import coral
from pipeline.api.context import AppContext
from pipeline.config import Settings
from pipeline.schemas import ContributionSubmitted
from pipeline.schemas.codec import decode_event

SECRET = "hemicycle_" + "ab12" * 9

# The enums of Coral 9.11's validation of the answer (see NOTES.md, Platform integration facts).
STATUSES = {"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"}
FLAG_REASONS = {"COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"}
TAGS = {"FEATURED", "STAFF"}
REJECTION_CODES = {
    "OFFENSIVE",
    "ABUSIVE",
    "SPAM",
    "BANNED_WORD",
    "AD",
    "ILLEGAL_CONTENT",
    "HARASSMENT_BULLYING",
    "MISINFORMATION",
    "HATE_SPEECH",
    "IRRELEVANT_CONTENT",
    "OTHER",
}


def assert_coral_shape(answer: dict[str, Any]) -> None:
    """What Coral's Joi schema accepts (unknown keys would be stripped: we send none)."""
    assert set(answer) <= {"status", "actions", "tags", "moderationAction"}, answer
    if "status" in answer:
        assert answer["status"] in STATUSES
    for action in answer.get("actions", []):
        assert set(action) == {"actionType", "reason"}
        assert action["actionType"] == "FLAG" and action["reason"] in FLAG_REASONS
    assert set(answer.get("tags", [])) <= TAGS
    if "moderationAction" in answer:
        moderation = answer["moderationAction"]
        assert set(moderation) <= {"status", "rejectionReason"}
        assert moderation["status"] in STATUSES
        reason = moderation.get("rejectionReason", {})
        assert set(reason) <= {"code", "legalGrounds", "detailedExplanation", "customReason"}
        assert reason.get("code", "OTHER") in REJECTION_CODES
        for key in ("legalGrounds", "detailedExplanation", "customReason"):
            assert key not in reason or (isinstance(reason[key], str) and reason[key])
        # Coral treats a moderationAction as a rejection (and tells the author so).
        assert answer.get("status") == moderation["status"] == "REJECTED"


def coral_request(body: str, **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "action": "NEW",
        "comment": {"body": body, "parentID": None},
        "author": {"id": "user-1", "role": "COMMENTER"},
        "story": {"id": "story-1", "url": "https://news.example/story-1"},
        "site": {"id": "site-1"},
        "tenantID": "tenant-1",
        "tenantDomain": "news.example",
    }
    request.update(changes)
    return request


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class FakeToxicity:
    """Scores by keyword; covers English and French only."""

    languages = frozenset({"en", "fr"})
    model_id = "fake-toxicity"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.texts.extend(texts)
        out = []
        for text in texts:
            lowered = text.lower()
            value = 0.99 if "idiot" in lowered else 0.7 if "stupid" in lowered else 0.01
            out.append({"toxicity": value, "insult": value / 2})
        return out


class Coral:
    def __init__(self, client: TestClient, context: AppContext) -> None:
        self.client = client
        self.context = context

    def moderate(self, payload: Any, *, signature: str | None = None) -> Any:
        raw = json.dumps(payload, indent=2).encode()  # Coral: JSON.stringify(data, null, 2)
        headers = {"Content-Type": "application/json"}
        headers["X-Coral-Signature"] = signature if signature is not None else sign(raw)
        return self.client.post("/v1/coral/moderate", content=raw, headers=headers)

    def answer(self, body: str, **changes: Any) -> dict[str, Any]:
        response = self.moderate(coral_request(body, **changes))
        assert response.status_code == 200, response.text
        answer = response.json()
        assert_coral_shape(answer)
        return answer

    def submitted(self) -> list[ContributionSubmitted]:
        records = self.context.bus.read(self.context.settings.topic("submitted"))
        return [self.context.sealer.open(decode_event(r.value)) for r in records]  # a reader


def open_coral(settings: Settings) -> Iterator[Coral]:
    context = AppContext(settings)
    with TestClient(create_app(settings, context=context)) as client:
        yield Coral(client, context)
    context.close()


@pytest.fixture
def coral_settings(settings: Settings) -> Settings:
    return Settings(
        data_dir=settings.data_dir, partitions=3, retry_backoff_ms=0, coral_secret=SECRET
    )


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeToxicity, list[int]]]:
    model = FakeToxicity()
    loads: list[int] = []

    def load(settings: Settings) -> tuple[FakeToxicity, None]:
        loads.append(1)
        time.sleep(0.3)  # a slow load: concurrent first requests must still load it once
        return model, None

    monkeypatch.setattr(coral, "load_toxicity", load)
    yield model, loads


@pytest.fixture
def api(coral_settings: Settings) -> Iterator[Coral]:
    yield from open_coral(coral_settings)


# --- configuration and signature -------------------------------------------------------------


def test_without_a_secret_the_phase_is_disabled_with_a_clear_message(settings: Settings) -> None:
    for api in open_coral(settings):
        response = api.moderate(coral_request("Hello"))
        assert response.status_code == 503
        assert "HEMICYCLE_CORAL_SECRET" in response.json()["detail"]


def test_the_signature_is_the_authentication(api: Coral) -> None:
    payload = coral_request("A perfectly ordinary comment about the article.")
    raw = json.dumps(payload, indent=2).encode()
    assert api.moderate(payload, signature="").status_code == 401
    wrong = api.moderate(payload, signature=sign(raw, "another-secret"))
    assert wrong.status_code == 401
    assert "X-Coral-Signature" in wrong.json()["detail"]
    tampered = api.client.post(
        "/v1/coral/moderate",
        content=raw.replace(b"ordinary", b"ORDINARY"),
        headers={"X-Coral-Signature": sign(raw), "Content-Type": "application/json"},
    )
    assert tampered.status_code == 401
    # During a rotation Coral signs with every active secret, comma-joined.
    rotated = f"{sign(raw, 'old-secret')},{sign(raw)}"
    assert api.moderate(payload, signature=rotated).status_code == 200
    assert api.moderate(payload, signature=f"sha1=abc, {sign(raw).upper()}").status_code == 200
    assert api.submitted(), "a signed comment is published"


def test_bad_requests_are_4xx_even_when_signed(api: Coral) -> None:
    raw = b"{not json"
    headers = {"X-Coral-Signature": sign(raw), "Content-Type": "application/json"}
    assert api.client.post("/v1/coral/moderate", content=raw, headers=headers).status_code == 400
    missing = api.moderate({"action": "NEW", "comment": {"body": "x"}})
    assert missing.status_code == 422
    assert {f["field"] for f in missing.json()["errors"][0]["fields"]} >= {"author", "story"}
    assert api.moderate([1, 2]).status_code == 422
    assert api.moderate(coral_request("x", action="DELETE")).status_code == 422


# --- the answer --------------------------------------------------------------------------------


def test_a_clean_comment_gets_an_empty_answer(api: Coral) -> None:
    response = api.moderate(coral_request("<p>Thanks for this <b>thoughtful</b> article.</p>"))
    assert response.status_code == 200
    assert response.content == b"{}"  # exactly what makes Coral skip the phase


def test_a_blocked_domain_is_rejected_as_spam(api: Coral) -> None:
    answer = api.answer("Great deals here: https://bit.ly/3xYz check it out")
    assert answer["status"] == "REJECTED"
    assert answer["actions"] == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]
    reason = answer["moderationAction"]["rejectionReason"]
    assert reason["code"] == "SPAM"
    assert "blocked domain bit.ly" in reason["detailedExplanation"]
    assert "toxicity not scored" not in reason["detailedExplanation"]


def test_spam_to_review_is_flagged_without_a_status(api: Coral) -> None:
    answer = api.answer("Work from home and earn money, ask me how.")
    assert answer == {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


def test_spam_over_the_hide_threshold_is_held_for_premoderation(api: Coral) -> None:
    answer = api.answer(
        "CLICK HERE TO WIN A CASINO BONUS!!!!!!! FREE BITCOIN at spam.example, win.example, "
        "cash.example and more.example"
    )
    assert answer == {
        "status": "PREMOD",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}],
    }


def test_toxicity_is_scored_once_loaded_and_mapped(
    coral_settings: Settings, fake_model: tuple[FakeToxicity, list[int]]
) -> None:
    model, loads = fake_model
    for api in open_coral(coral_settings):
        payloads = [
            coral_request(
                f"<p>Comment number {n} on the story.</p>", author={"id": f"u{n}", "role": None}
            )
            for n in range(8)
        ]
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(api.moderate, payloads))
        assert [r.status_code for r in responses] == [200] * 8
        assert len(loads) == 1, "loaded once, lazily, under concurrent first requests"
        assert all(r.content == b"{}" for r in responses)  # low scores: approve → Coral goes on
        assert "Comment number 0 on the story." in model.texts  # scored without the HTML

        hidden = api.answer("You are an idiot and everyone knows it.")
        assert hidden == {
            "status": "PREMOD",
            "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
        }
        review = api.answer("What a stupid thing to write in a newspaper.")
        assert review == {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]}
        # German is not covered by this model: nothing known, Coral goes on.
        german = api.answer("Das ist wirklich ein sehr interessanter Artikel über die Stadt.")
        assert german == {}
        assert len(loads) == 1


def test_moderators_are_not_judged(api: Coral) -> None:
    answer = api.answer("https://bit.ly/x", author={"id": "mod-1", "role": "MODERATOR"})
    assert answer == {}


def test_the_comment_is_published_after_the_answer(api: Coral) -> None:
    body = "<p>I disagree with the <em>mayor</em> on this.</p>"
    reply = coral_request(body, comment={"body": body, "parentID": "comment-9"})
    api.answer(body)
    api.answer(body)  # the same comment again: the same contribution and event id
    api.answer(body, **{"comment": reply["comment"]})
    events = api.submitted()
    assert len(events) == 3
    first, again, other = events
    assert first.event_id == again.event_id != other.event_id
    c = first.contribution
    assert c.platform == "coral-tenant-1"
    assert (c.kind, c.space, c.author) == ("comment", "site-1", "user-1")
    assert c.body == "I disagree with the mayor on this."
    assert c.url == "https://news.example/story-1"
    assert other.contribution.parent_id == "comment-9"
    assert first.trace.producer == "coral"


def test_the_older_tenant_shape_is_accepted(api: Coral) -> None:
    payload = coral_request("An ordinary comment.")
    del payload["tenantID"], payload["tenantDomain"]
    payload["tenant"] = {"id": "tenant-2", "domain": "old.example"}
    response = api.moderate(payload)
    assert response.status_code == 200 and response.json() == {}
    assert api.submitted()[0].contribution.platform == "coral-tenant-2"


def test_a_real_toxicity_checkpoint_is_loaded_once(
    coral_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.toxicity_model import build_tiny_detoxify

    checkpoint, config_dir = build_tiny_detoxify(tmp_path_factory.mktemp("tox"), steps=20)
    settings = Settings(
        data_dir=coral_settings.data_dir,
        partitions=3,
        coral_secret=SECRET,
        toxicity_checkpoint=checkpoint,
        toxicity_config_dir=config_dir,
    )
    loaded: list[Any] = []
    real = coral.load_toxicity

    def spy(s: Settings) -> tuple[Any, str | None]:
        result = real(s)
        loaded.append(result)
        return result

    monkeypatch.setattr(coral, "load_toxicity", spy)
    for api in open_coral(settings):
        for text in ("You are a pathetic idiot", "Thank you for the article"):
            api.answer(text)
    assert len(loaded) == 1
    scorer, reason = loaded[0]
    assert reason is None and scorer.model_id.startswith("detoxify-")


def test_a_broken_checkpoint_leaves_spam_scoring_working(
    coral_settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    settings = Settings(
        data_dir=coral_settings.data_dir,
        partitions=3,
        coral_secret=SECRET,
        toxicity_checkpoint=broken,
        toxicity_config_dir=tmp_path,
    )
    for api in open_coral(settings):
        assert api.answer("Nice article, thanks.") == {}
        assert api.answer("see https://bit.ly/x")["status"] == "REJECTED"


def test_an_authors_burst_across_requests_is_flagged_as_spam(api: Coral) -> None:
    answers = [api.answer(f"Comment {n}: the new bus line is a good idea.") for n in range(9)]
    assert answers[:8] == [{}] * 8  # burst_max = 8 in the default policy
    assert answers[8] == {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


@pytest.mark.parametrize("placeholder", ["REPLACE_ME", "short", "REPLACE_ME-with-a-long-tail"])
def test_a_placeholder_secret_disables_the_endpoint(settings: Settings, placeholder: str) -> None:
    configured = Settings(data_dir=settings.data_dir, partitions=3, coral_secret=placeholder)
    with TestClient(create_app(configured)) as client:
        raw = b'{"action": "NEW", "comment": {"body": "hello"}}'
        signature = "sha256=" + hmac.new(placeholder.encode(), raw, hashlib.sha256).hexdigest()
        response = client.post(
            "/v1/coral/moderate",
            content=raw,
            headers={"Content-Type": "application/json", "X-Coral-Signature": signature},
        )
        assert response.status_code == 503
        assert "placeholder" in response.json()["detail"]
