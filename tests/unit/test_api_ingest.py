"""The ingest API (/v1/contributions), API keys and their CLI, health and metrics."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api.apikeys import authenticate, create_key
from pipeline.api.context import AppContext
from pipeline.config import Settings
from pipeline.schemas import ContributionSubmitted
from pipeline.schemas.codec import decode_event
from pipeline.schemas.ids import SUBMISSION_NAMESPACE, submission_event_id
from pipeline.service import Pipeline
from pipeline.store import open_store
from pipeline.store.base import StoreUnavailable
from tests.conftest import contribution

PLATFORM = "decidim-test"


@dataclass
class Api:
    client: TestClient
    context: AppContext
    settings: Settings
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def submitted(self) -> list[ContributionSubmitted]:
        records = self.context.bus.read(self.settings.topic("submitted"))
        events = [decode_event(r.value) for r in records]
        return sorted(events, key=lambda e: (e.contribution_id, e.contribution_version))


def open_api(settings: Settings) -> Iterator[Api]:
    context = AppContext(settings)
    key = create_key(context.store, PLATFORM)
    with TestClient(create_app(settings, context=context)) as client:
        yield Api(client, context, settings, key)
    context.close()


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings)


def run_pipeline(settings: Settings) -> None:
    with Pipeline(settings, ["langid", "translator", "scorer", "triage"]) as pipeline:
        pipeline.run(until_idle=True)


def without_platform(n: int, **overrides: Any) -> dict[str, Any]:
    data = contribution(n, **overrides)
    del data["platform"]
    return data


# --- POST /v1/contributions ----------------------------------------------------------------


def test_one_contribution_is_published_with_a_deterministic_event_id(api: Api) -> None:
    response = api.client.post("/v1/contributions", json=without_platform(1), headers=api.auth)
    assert response.status_code == 202, response.text
    [entry] = response.json()["accepted"]
    expected_id = uuid.uuid5(SUBMISSION_NAMESPACE, json.dumps([PLATFORM, "c-1", 1]))
    assert entry == {
        "contribution_id": "decidim-test:c-1",
        "version": 1,
        "event_id": str(expected_id),
        "status_url": "/v1/contributions/decidim-test:c-1",
        "status": "published",
    }
    [event] = api.submitted()
    assert event.event_id == expected_id == submission_event_id(PLATFORM, "c-1", 1)
    assert event.contribution.platform == PLATFORM  # filled from the key
    assert event.trace.producer == "api"


def test_a_batch_is_published_in_order_and_resending_repeats_the_event_ids(api: Api) -> None:
    batch = {"contributions": [contribution(1), contribution(2), contribution(1, version=2)]}
    first = api.client.post("/v1/contributions", json=batch, headers=api.auth)
    again = api.client.post("/v1/contributions", json=batch, headers=api.auth)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert [e["version"] for e in first.json()["accepted"]] == [1, 1, 2]
    events = api.submitted()
    assert len(events) == 6
    assert len({e.event_id for e in events}) == 3  # the repeat carries the same ids


def test_a_batch_is_all_or_nothing_and_names_each_failing_item(api: Api) -> None:
    batch = {
        "contributions": [
            contribution(1),
            contribution(2, body="   ", created_at="2026-11-20T10:00:00"),
            contribution(3),
            contribution(4, kind="no spaces allowed"),
        ]
    }
    response = api.client.post("/v1/contributions", json=batch, headers=api.auth)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_contribution"
    assert body["detail"].startswith("item 1: ")
    assert "nothing was accepted" in body["detail"]
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert {f["field"] for f in body["errors"][0]["fields"]} == {"body", "created_at"}
    assert body["errors"][0]["id"] == "c-2"
    assert "timezone" in body["errors"][0]["message"]
    assert body["errors"][1]["fields"][0]["field"] == "kind"
    assert api.submitted() == []


def test_duplicate_versions_in_one_batch_are_refused(api: Api) -> None:
    batch = {"contributions": [contribution(1), contribution(2), contribution(1)]}
    response = api.client.post("/v1/contributions", json=batch, headers=api.auth)
    assert response.status_code == 422
    assert response.json()["error"] == "duplicate_contribution"
    assert "item 2" in response.json()["detail"] and "item 0" in response.json()["detail"]
    assert api.submitted() == []


def test_limits_on_batch_size_and_body_bytes_are_413(settings: Settings, tmp_path: Path) -> None:
    small = Settings(data_dir=tmp_path / "small", partitions=3, api_max_batch=2, max_body_chars=100)
    for api in open_api(small):
        batch = {"contributions": [contribution(n) for n in range(3)]}
        response = api.client.post("/v1/contributions", json=batch, headers=api.auth)
        assert response.status_code == 413
        assert response.json()["error"] == "batch_too_large"
        assert "limit of 2" in response.json()["detail"]
        limit = small.max_event_bytes * small.api_max_batch
        huge = b'{"id": "' + b"x" * (limit + 1) + b'"}'
        response = api.client.post("/v1/contributions", content=huge, headers=api.auth)
        assert response.status_code == 413
        assert response.json()["error"] == "body_too_large"
        assert api.submitted() == []


def test_keys_are_required_and_checked(api: Api) -> None:
    data = contribution(1)
    cases = {
        "missing": {},
        "unknown": {"Authorization": "Bearer hmc_decidim-test_" + "A" * 32},
        "scheme": {"Authorization": f"Basic {api.key}"},
        "empty": {"Authorization": "Bearer "},
    }
    for name, headers in cases.items():
        response = api.client.post("/v1/contributions", json=data, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name
        assert response.json()["error"] == "unauthorized"
    assert (
        "invalid_token"
        in api.client.post("/v1/contributions", json=data, headers=cases["unknown"]).headers[
            "WWW-Authenticate"
        ]
    )
    assert api.client.get("/v1/contributions/c-1").status_code == 401
    assert api.submitted() == []


def test_another_platform_is_forbidden(api: Api) -> None:
    batch = {"contributions": [contribution(1), contribution(2, platform="someone-else")]}
    response = api.client.post("/v1/contributions", json=batch, headers=api.auth)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_platform"
    assert response.json()["errors"][0]["index"] == 1
    assert api.submitted() == []


# --- GET /v1/contributions/{id} ------------------------------------------------------------


def test_results_are_read_back_after_the_pipeline_ran(api: Api) -> None:
    unknown = api.client.get("/v1/contributions/c-1", headers=api.auth)
    assert unknown.status_code == 404
    assert "in flight" in unknown.json()["detail"]
    spammy = "CLICK HERE TO WIN a casino bonus at https://bit.ly/x NOW!!!!!!!"
    batch = {"contributions": [contribution(1), contribution(2, body=spammy)]}
    assert api.client.post("/v1/contributions", json=batch, headers=api.auth).status_code == 202
    run_pipeline(api.settings)

    by_id = api.client.get("/v1/contributions/c-1", headers=api.auth)
    by_key = api.client.get("/v1/contributions/decidim-test:c-1", headers=api.auth)
    assert by_id.status_code == by_key.status_code == 200
    assert by_id.json() == by_key.json()
    item = by_id.json()
    assert item["contribution_id"] == "decidim-test:c-1"
    assert item["language"]["lang"] == "en"
    assert item["state"] in {"needs_review", "auto_approved"}
    assert any(s["category"] == "spam" for s in item["scores"])
    assert item["reasons"]
    assert {"translations", "spam_signals", "decisions", "contribution"} <= set(item)

    spam = api.client.get("/v1/contributions/c-2", headers=api.auth).json()
    assert spam["state"] == "auto_hidden"
    assert {s["name"] for s in spam["spam_signals"]} >= {"blocked_domain", "phrase"}

    # Another platform's key sees nothing of decidim-test.
    other = create_key(api.context.store, "other-platform")
    response = api.client.get(
        "/v1/contributions/decidim-test:c-1", headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 404


def test_a_processed_version_resent_with_other_content_is_a_conflict(api: Api) -> None:
    assert api.client.post("/v1/contributions", json=contribution(1), headers=api.auth).is_success
    run_pipeline(api.settings)
    same = api.client.post("/v1/contributions", json=contribution(1), headers=api.auth)
    assert same.status_code == 202
    changed = api.client.post(
        "/v1/contributions", json=contribution(1, body="Something else."), headers=api.auth
    )
    assert changed.status_code == 409
    assert changed.json()["error"] == "version_conflict"
    assert "send version 2" in changed.json()["detail"]
    bumped = api.client.post(
        "/v1/contributions",
        json=contribution(1, version=2, body="Something else."),
        headers=api.auth,
    )
    assert bumped.status_code == 202


# --- API keys and their CLI ------------------------------------------------------------------


def test_keys_are_random_and_stored_only_as_a_hash(api: Api) -> None:
    assert re.fullmatch(r"hmc_decidim-test_[A-Za-z0-9_-]{32}", api.key)
    digest = hashlib.sha256(api.key.encode()).hexdigest()
    record = json.loads(api.context.store.cache_get("apikeys", digest) or "{}")
    assert record["platform"] == PLATFORM
    assert set(record) == {"platform", "created_at", "prefix"}
    assert api.key not in json.dumps(record) and api.key.startswith(record["prefix"])
    assert api.context.store.cache_get("apikeys", api.key) is None
    assert authenticate(api.context.store, f"Bearer {api.key}") == PLATFORM
    assert authenticate(api.context.store, f"bearer   {api.key}") == PLATFORM
    assert authenticate(api.context.store, api.key) is None
    assert create_key(api.context.store, PLATFORM) != api.key


def test_cli_creates_a_key_shown_once_and_revokes_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    assert main(["apikeys", "create", "decidim-bcn"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("hmc_decidim-bcn_")
    assert "only once" in err and key not in err
    store = open_store(settings)
    try:
        assert authenticate(store, f"Bearer {key}") == "decidim-bcn"
        assert main(["apikeys", "create", "   "]) == 2
        assert "invalid platform" in capsys.readouterr().err
        assert main(["apikeys", "create", "x" * 201]) == 2
        assert main(["apikeys", "revoke", key]) == 0
        assert "decidim-bcn" in capsys.readouterr().out
        assert authenticate(store, f"Bearer {key}") is None
        assert main(["apikeys", "revoke", "hmc_nope"]) == 1
    finally:
        store.close()


# --- health, metrics, OpenAPI ----------------------------------------------------------------


def test_health_readiness_and_metrics(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    metrics = api.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text

    def down(*args: object) -> None:
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(api.context.store, "cache_get", down)
    not_ready = api.client.get("/readyz")
    assert not_ready.status_code == 503
    checks = not_ready.json()["checks"]
    assert checks["store"] == {"ok": False, "error": "StoreUnavailable: connection refused"}
    assert checks["bus"]["ok"] is True
    assert api.client.get("/healthz").status_code == 200
    # A store outage during a request is a 503 to retry, not a 500 (nor a 401).
    response = api.client.get("/v1/contributions/c-1", headers=api.auth)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert response.headers["Retry-After"]


def test_openapi_documents_the_bodies_and_the_key_scheme(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    post = spec["paths"]["/v1/contributions"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    single = schema["oneOf"][0]
    assert "platform" not in single["required"] and "body" in single["required"]
    assert {"202", "401", "413", "422"} <= set(post["responses"])
    assert post["security"] == [{"PlatformApiKey": []}]
    assert spec["components"]["securitySchemes"]["PlatformApiKey"]["scheme"] == "bearer"
    for path in ("/v1/decidim/resources", "/v1/decidim/translate", "/v1/coral/moderate"):
        assert "requestBody" in spec["paths"][path]["post"], path
    assert "security" not in spec["paths"]["/v1/coral/moderate"]["post"]
    assert api.client.get("/docs").status_code == 200
