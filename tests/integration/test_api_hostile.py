"""Hostile input through the HTTP API: every request gets a clear 4xx or is accepted, never 500.

Each case is one request against a fresh app (embedded bus and store, small limits). A 4xx
answer must carry the platform API's error body with a ``detail`` naming the problem. After
the onslaught a valid contribution still goes through the whole pipeline, nothing was
dead-lettered, and accepted oddities (control characters, script tags) are stored verbatim.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api.apikeys import create_key
from pipeline.api.context import AppContext
from pipeline.config import Settings
from pipeline.schemas.codec import decode_event
from pipeline.service import Pipeline
from tests.conftest import contribution

PLATFORM = "decidim-test"
CORAL_SECRET = "coral_" + "9f" * 16
MAX_BATCH = 5
MAX_BODY = 2_000


def body(n: int = 1, **overrides: Any) -> bytes:
    return json.dumps(contribution(n, **overrides)).encode()


def batch(*items: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"contributions": list(items), **extra}).encode()


@dataclass(frozen=True)
class Case:
    """One request: ``auth`` is ``key`` (the platform's), ``other`` (another platform's key),
    a literal header value, or None (no header)."""

    name: str
    raw: bytes
    status: int
    reason: str
    path: str = "/v1/contributions"
    auth: str | None = "key"
    headers: dict[str, str] = field(default_factory=dict)


def long_title() -> str:
    return "t" * 1_001


CASES = [
    # Not JSON at all.
    Case("malformed JSON", b'{"id": "c-1",', 400, "not valid JSON"),
    Case("trailing garbage", body() + b" garbage", 400, "not valid JSON"),
    Case("empty body", b"", 400, "empty"),
    Case("whitespace-only body", b" \n\t\r ", 400, "empty"),
    Case("invalid UTF-8", b'{"id": "\xff\xfe"}', 400, "not UTF-8"),
    Case("UTF-16 JSON", json.dumps(contribution(1)).encode("utf-16"), 400, "not UTF-8"),
    Case("byte-order mark", b"\xef\xbb\xbf" + body(), 400, "BOM"),
    Case("deeply nested arrays", b"[" * 50_000 + b"]" * 50_000, 400, "nested too deeply"),
    Case("NaN version", body().replace(b'"version": 1', b'"version": NaN'), 422, "version"),
    Case("1e400 version", body().replace(b'"version": 1', b'"version": 1e400'), 422, "version"),
    # The wrong shape.
    Case("JSON null", b"null", 422, "expected a JSON object"),
    Case("top-level array", b"[" + body() + b"]", 422, "got array"),
    Case("JSON string", b'"hello"', 422, "got string"),
    Case("JSON number", b"42", 422, "got number"),
    Case("contributions is an object", b'{"contributions": {}}', 422, "expected an array"),
    Case("empty batch", b'{"contributions": []}', 422, "empty"),
    Case("batch of numbers", b'{"contributions": [1, 2]}', 422, "expected a contribution"),
    Case("batch of arrays", b'{"contributions": [[]]}', 422, "got array"),
    Case("batch with extra keys", batch(contribution(1), extra=1), 422, "unknown field"),
    Case("unknown field", body(colour="red"), 422, "colour"),
    # Wrong types and values, field by field.
    Case("id is a number", body(id=12), 422, "id"),
    Case("id is empty", body(id=""), 422, "id"),
    Case("id is whitespace", body(id="   "), 422, "id"),
    Case("over-long id", body(id="x" * 201), 422, "id"),
    Case("platform:id over 200", body(id="x" * 195), 422, "contribution_id"),
    Case("body is an array", body(body=["a", "b"]), 422, "body"),
    Case("body is missing", json.dumps({"id": "c-1"}).encode(), 422, "body"),
    Case("body is empty", body(body=""), 422, "body is empty"),
    Case("body is whitespace", body(body=" \n\u3000 "), 422, "body is empty"),
    Case("body over the limit", body(body="a" * (MAX_BODY + 1)), 422, "limit of 2000"),
    Case("title over the limit", body(title=long_title()), 422, "title"),
    Case("title is an object", body(title={"en": "x"}), 422, "title"),
    Case("version zero", body(version=0), 422, "version"),
    Case("version negative", body(version=-3), 422, "version"),
    Case("version huge", body(version=2**63), 422, "version"),
    Case("version is text", body(version="two"), 422, "version"),
    Case("version is a fraction", body(version=1.5), 422, "version"),
    Case("version is boolean", body(version=True), 422, "version"),
    Case("impossible date", body(created_at="2026-13-45T10:00:00Z"), 422, "created_at"),
    Case("naive datetime", body(created_at="2026-11-20T10:00:00"), 422, "timezone"),
    Case("date without time", body(created_at="2026-11-20"), 422, "timezone"),
    Case("offset out of range", body(created_at="2026-11-20T10:00:00+25:00"), 422, "created_at"),
    Case("created_at is empty", body(created_at=""), 422, "created_at"),
    Case("created_at missing", body(created_at=None), 422, "created_at"),
    Case("kind with spaces", body(kind="a proposal"), 422, "kind"),
    Case("platform is empty", body(platform=""), 422, "platform"),
    Case("platform is a number", body(platform=7), 422, "platform"),
    Case("locale_hint over-long", body(locale_hint="x" * 36), 422, "locale_hint"),
    Case("url over-long", body(url="https://x.example/" + "a" * 2_000), 422, "url"),
    Case("lone surrogate", body(body="text \ud800 more"), 422, "surrogate"),
    # Accepted as text: what is hostile for a browser is data here.
    Case("NUL and control characters", body(body="a\x00b\x07c\x1b[31m red \x7f"), 202, ""),
    Case("script tag", body(body="<script>alert(document.cookie)</script> hello"), 202, ""),
    Case("img onerror", body(title='<img src=x onerror="alert(1)">', body="a b c"), 202, ""),
    Case("right-to-left override", body(body="abc \u202e gnp.exe \u202c def"), 202, ""),
    Case("astral text", body(body="\U0001f44d\U0001f3fd \U0001d518\U0001d52b \U0001f600"), 202, ""),
    Case("duplicate JSON keys", b'{"body": "",' + body()[1:], 202, ""),
    Case("timestamp as date", body(created_at=1_700_000_000), 202, ""),
    Case("far-future date", body(created_at="9999-12-31T23:59:59+14:00"), 202, ""),
    # Sizes and batches.
    Case("huge body", b'{"body": "' + b"a" * 2_000_000 + b'"}', 413, "exceeds the limit"),
    Case(
        "batch over the limit",
        batch(*[contribution(n) for n in range(MAX_BATCH + 1)]),
        413,
        f"limit of {MAX_BATCH}",
    ),
    Case("duplicate ids in a batch", batch(contribution(1), contribution(1)), 422, "already item"),
    Case("one bad item in a batch", batch(contribution(1), {"id": 5}), 422, "item 1"),
    # Authentication and authorisation.
    Case("missing auth", body(), 401, "missing API key", auth=None),
    Case("empty auth header", body(), 401, "missing API key", auth=""),
    Case("wrong scheme", body(), 401, "scheme", auth="Basic dXNlcjpwYXNz"),
    Case("token without scheme", body(), 401, "scheme", auth="hmc_decidim-test_x"),
    Case("wrong key", body(), 401, "unknown", auth="Bearer hmc_decidim-test_" + "x" * 32),
    Case("over-long key", body(), 401, "unknown", auth="Bearer " + "k" * 4_000),
    Case("other platform's key", body(), 403, "platform", auth="other"),
    Case("item names another platform", body(platform="elsewhere"), 403, "platform"),
    # Media types.
    Case("text/plain", body(), 415, "application/json", headers={"Content-Type": "text/plain"}),
    Case(
        "form encoded",
        b"id=c-1&body=x",
        415,
        "application/json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    # The Decidim adapter and Coral's phase get the same treatment.
    Case("decidim: array", b"[]", 422, "expected a JSON object", path="/v1/decidim/resources"),
    Case("decidim: bad i18n", b'{"title": {"en": 1}}', 422, "title", path="/v1/decidim/resources"),
    Case("decidim: not JSON", b"<xml/>", 400, "not valid JSON", path="/v1/decidim/resources"),
    Case("translate: null text", b'{"text": null}', 422, "text", path="/v1/decidim/translate"),
    Case("translate: no auth", b"{}", 401, "missing", path="/v1/decidim/translate", auth=None),
    Case("coral: unsigned", b"{}", 401, "X-Coral-Signature", path="/v1/coral/moderate"),
    Case(
        "coral: bad signature",
        b"{}",
        401,
        "does not match",
        path="/v1/coral/moderate",
        headers={"X-Coral-Signature": "sha256=00"},
    ),
]


@dataclass
class Target:
    client: TestClient
    context: AppContext
    settings: Settings
    key: str
    other: str

    def send(self, case: Case) -> Any:
        headers = {"Content-Type": "application/json", **case.headers}
        if case.auth == "key":
            headers["Authorization"] = f"Bearer {self.key}"
        elif case.auth == "other":
            headers["Authorization"] = f"Bearer {self.other}"
        elif case.auth is not None:
            headers["Authorization"] = case.auth
        return self.client.post(case.path, content=case.raw, headers=headers)

    def post(self, payload: Any) -> Any:
        return self.client.post(
            "/v1/contributions", json=payload, headers={"Authorization": f"Bearer {self.key}"}
        )

    def get(self, cid: str) -> Any:
        return self.client.get(
            f"/v1/contributions/{cid}", headers={"Authorization": f"Bearer {self.key}"}
        )

    def run_pipeline(self) -> None:
        with Pipeline(self.settings, ["langid", "translator", "scorer", "triage"]) as pipeline:
            pipeline.run(until_idle=True)

    def dead_letters(self) -> list[Any]:
        return self.context.bus.read(self.settings.topic("deadletter"))


@pytest.fixture
def target(settings: Settings) -> Iterator[Target]:
    hostile = Settings(
        data_dir=settings.data_dir,
        partitions=3,
        retry_backoff_ms=0,
        api_max_batch=MAX_BATCH,
        max_body_chars=MAX_BODY,
        coral_secret=CORAL_SECRET,
        translation_engines=["argos", "transformers"],  # installed Apertium pairs: opt in
    )
    context = AppContext(hostile)
    key = create_key(context.store, PLATFORM)
    other = create_key(context.store, "other-platform")
    # raise_server_exceptions=False: a crash must show up as the 500 a client would get.
    with TestClient(create_app(hostile, context=context), raise_server_exceptions=False) as client:
        yield Target(client, context, hostile, key, other)
    context.close()


def check(response: Any, case: Case) -> None:
    assert response.status_code != 500, f"{case.name}: server error {response.text[:300]}"
    assert response.status_code == case.status, f"{case.name}: {response.text[:500]}"
    if response.status_code >= 400:
        error = response.json()
        assert set(error) == {"error", "detail", "errors"}, case.name
        assert case.reason.lower() in error["detail"].lower() or any(
            case.reason.lower() in json.dumps(e).lower() for e in error["errors"]
        ), f"{case.name}: {error}"
        if response.status_code == 401:
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer") or (
                case.path == "/v1/coral/moderate"
            )
    else:
        assert response.json()["accepted"], case.name


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request(target: Target, case: Case) -> None:
    check(target.send(case), case)
    if case.status != 202:
        submitted = target.context.bus.read(target.settings.topic("submitted"))
        assert submitted == [], f"{case.name}: a refused request published something"


def test_a_valid_contribution_still_goes_through_after_all_of_them(target: Target) -> None:
    for case in CASES:
        check(target.send(case), case)
    valid = contribution(999, body="We need more benches in the central park, please.")
    assert target.post(valid).status_code == 202
    target.run_pipeline()
    assert target.dead_letters() == []
    item = target.context.store.get(f"{PLATFORM}:c-999")
    assert item is not None and item.language_code == "en"
    assert item.state in {"needs_review", "auto_approved"}
    assert target.get("c-999").json()["contribution"]["body"] == valid["body"]


def test_script_payloads_and_control_characters_are_stored_verbatim(target: Target) -> None:
    texts = {
        "c-1": "<script>alert(document.cookie)</script> Please fix the streetlights.",
        "c-2": '<img src=x onerror="alert(1)"> The park needs benches.',
        "c-3": "NUL\x00 bell\x07 escape\x1b[31m red, then the library hours.",
    }
    payload = {"contributions": [contribution(int(k[2:]), body=v) for k, v in texts.items()]}
    assert target.post(payload).status_code == 202
    target.run_pipeline()
    assert target.dead_letters() == []
    for cid, text in texts.items():
        response = target.get(cid)
        assert response.status_code == 200
        assert response.json()["contribution"]["body"] == text
        assert target.context.store.get(f"{PLATFORM}:{cid}").contribution.body == text


def test_replayed_submissions_are_idempotent(target: Target) -> None:
    answers = [target.post(contribution(1)).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    events = [
        decode_event(r.value) for r in target.context.bus.read(target.settings.topic("submitted"))
    ]
    assert len(events) == 3 and len({e.event_id for e in events}) == 1
    target.run_pipeline()
    item = target.context.store.get(f"{PLATFORM}:c-1")
    assert item is not None and item.version == 1
    assert target.context.store.counts() == {item.state: 1}
    identified = target.context.bus.read(target.settings.topic("identified"))
    assert len({decode_event(r.value).event_id for r in identified}) == 1


def test_out_of_order_versions_end_with_the_newest(target: Target) -> None:
    v2 = contribution(1, version=2, body="The second version: plant oaks, not plane trees.")
    v1 = contribution(1, version=1, body="The first version: plant plane trees.")
    assert target.post(v2).status_code == 202
    assert target.post(v1).status_code == 202
    target.run_pipeline()
    item = target.context.store.get(f"{PLATFORM}:c-1")
    assert item is not None
    assert (item.version, item.contribution.body) == (2, v2["body"])
    assert target.get("c-1").json()["version"] == 2


def test_hostile_reads_are_404_not_500(target: Target) -> None:
    for cid in ("%00", "x" * 5_000, "..%2F..%2Fetc%2Fpasswd", "other-platform:c-1", "%F0%9F%92%A9"):
        response = target.get(cid)
        assert response.status_code == 404, cid
        assert "in flight" in response.json()["detail"]


def test_a_signed_hostile_coral_payload_is_answered(target: Target) -> None:
    payload = {
        "action": "NEW",
        "comment": {
            "body": "<script>alert(1)</script><img src=x onerror=alert(2)>",
            "parentID": None,
        },
        "author": {"id": "u\x00", "role": "COMMENTER"},
        "story": {"id": "s", "url": "javascript:alert(1)"},
        "site": {"id": "site"},
        "tenantID": "t",
        "tenantDomain": "x",
        "extra": {"nested": [1, 2, 3]},
    }
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(CORAL_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = target.client.post(
        "/v1/coral/moderate",
        content=raw,
        headers={"X-Coral-Signature": signature, "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {}  # no visible text once the HTML is stripped: nothing known
