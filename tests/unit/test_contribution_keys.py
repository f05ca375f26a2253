"""A contribution is (platform, id): platform names without ':' make ``platform:id`` unambiguous.

The colliding pair of issue 12: platform ``a:b`` with id ``c`` and platform ``a`` with id
``b:c`` were one key. The first is now refused wherever a platform name enters; the second
works and only ever answers platform ``a``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pipeline.api.apikeys import ApiKeyError, create_key
from pipeline.api.readback import find_item
from pipeline.cli import main
from pipeline.config import Settings
from pipeline.delivery.payloads import event_platform, platform_id
from pipeline.schemas import Contribution, ContributionTranslated
from pipeline.schemas.codec import EventDecodeError, decode_event
from pipeline.schemas.keys import contribution_key, own_id, split_key
from pipeline.schemas.queue import QueueItem
from tests.conftest import contribution
from tests.unit.test_api_ingest import Api, open_api, run_pipeline


@pytest.fixture
def api_a(settings: Settings) -> Iterator[Api]:
    """The ingest API with a key of platform ``a``."""
    for api in open_api(settings):
        api.key = create_key(api.context.store, "a")
        yield api


def test_a_key_splits_on_its_first_separator() -> None:
    assert contribution_key("a", "b:c") == "a:b:c"
    assert split_key("a:b:c") == ("a", "b:c")
    assert split_key(contribution_key("decidim-bcn", "proposal-1")) == ("decidim-bcn", "proposal-1")
    with pytest.raises(ValueError, match="may not contain ':'"):
        contribution_key("a:b", "c")
    with pytest.raises(ValueError, match="not a contribution key"):
        split_key("no-separator")


def test_own_id_is_the_id_of_the_platforms_own_key_only() -> None:
    assert own_id("a", "a:b:c") == "b:c"
    assert own_id("a", contribution_key("a", "")) == ""
    assert own_id("a", "ab:c") is None
    assert own_id("a", "b:a:c") is None
    assert own_id("a", "a") is None


@pytest.mark.parametrize(
    ("platform", "reason"),
    [("a:b", "may not contain ':'"), ("a b", "whitespace"), ("a\x07b", "control characters")],
)
def test_the_contribution_model_refuses_an_ambiguous_platform_name(
    platform: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Contribution.model_validate(contribution(1, platform=platform, id="c"))
    [error] = caught.value.errors()
    assert error["loc"] == ("platform",)
    assert reason in error["msg"]


def test_the_input_topic_refuses_platform_a_colon_b() -> None:
    raw = {"type": "ContributionSubmitted", "contribution": contribution(1, platform="a:b")}
    with pytest.raises(EventDecodeError) as caught:
        decode_event(json.dumps(raw).encode())
    assert str(caught.value) == (
        "contribution.platform: a platform name may not contain ':' "
        "(it separates platform and id in contribution keys)"
    )


def test_no_api_key_can_be_made_for_platform_a_colon_b(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for api in open_api(settings):
        with pytest.raises(ApiKeyError, match="may not contain ':'"):
            create_key(api.context.store, "a:b")
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    assert main(["apikeys", "create", "a:b"]) != 0
    assert "may not contain ':'" in capsys.readouterr().err


def test_the_api_refuses_platform_a_colon_b_naming_the_field(api_a: Api) -> None:
    body = contribution(1, platform="a:b", id="c")
    response = api_a.client.post("/v1/contributions", json=body, headers=api_a.auth)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["fields"][0]["field"] == "platform"
    assert "may not contain ':'" in error["message"]
    assert api_a.submitted() == []


def test_platform_a_with_id_b_colon_c_is_its_own_contribution(api_a: Api) -> None:
    body = contribution(1, platform="a", id="b:c")
    response = api_a.client.post("/v1/contributions", json=body, headers=api_a.auth)
    assert response.status_code == 202, response.text
    [event] = api_a.submitted()
    assert event.contribution_id == "a:b:c"
    run_pipeline(api_a.settings)

    for given in ("b:c", "a:b:c"):
        found = api_a.client.get(f"/v1/contributions/{given}", headers=api_a.auth)
        assert found.status_code == 200, found.text
        assert found.json()["contribution"]["platform"] == "a"
        assert found.json()["contribution"]["id"] == "b:c"
    # Platform "a" never sees it as "c" of some other platform, and another key sees nothing.
    assert api_a.client.get("/v1/contributions/c", headers=api_a.auth).status_code == 404
    other = create_key(api_a.context.store, "a-b")
    headers = {"Authorization": f"Bearer {other}"}
    for given in ("b:c", "a:b:c", "c"):
        assert api_a.client.get(f"/v1/contributions/{given}", headers=headers).status_code == 404


class _OneItemStore:
    """A store that answers every key with the same item (as a store keyed by prefix might)."""

    def __init__(self, item: QueueItem) -> None:
        self.item = item

    def get(self, contribution_id: str) -> QueueItem:
        return self.item


def test_find_item_compares_the_stored_platform_not_a_key_prefix() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    theirs = QueueItem(
        contribution=Contribution.model_validate(contribution(1, platform="a-b", id="c")),
        submitted_at=at,
        updated_at=at,
    )
    store = _OneItemStore(theirs)
    assert find_item(store, "a", "b:c") is None  # type: ignore[arg-type]
    assert find_item(store, "a", "a:b:c") is None  # type: ignore[arg-type]
    assert find_item(store, "a-b", "c") is theirs  # type: ignore[arg-type]


def test_deliveries_split_the_key_on_its_first_separator() -> None:
    event = ContributionTranslated.model_construct(contribution_id="a:b:c", contribution_version=1)
    assert (event_platform(event), platform_id(event)) == ("a", "b:c")


def test_an_item_stored_for_platform_a_colon_b_before_the_rule_is_never_platform_as(
    api_a: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Contribution.model_validate(contribution(1, platform="p", id="c")).model_dump()
    legacy = Contribution.model_construct(**{**data, "platform": "a:b"})
    at = datetime(2026, 11, 20, tzinfo=UTC)
    item = QueueItem(contribution=legacy, submitted_at=at, updated_at=at)
    with monkeypatch.context() as before_the_rule:  # keys were joined blindly then
        before_the_rule.setattr(
            "pipeline.schemas.contribution.contribution_key", lambda p, i: f"{p}:{i}"
        )
        assert item.contribution_id == "a:b:c"
        api_a.context.store.save(item, event_id="legacy-1", expected_revision=0)

    for given in ("b:c", "a:b:c"):
        response = api_a.client.get(f"/v1/contributions/{given}", headers=api_a.auth)
        assert response.status_code == 404, response.text
    body = contribution(1, platform="a", id="b:c", body="Platform a's own text.")
    response = api_a.client.post("/v1/contributions", json=body, headers=api_a.auth)
    assert response.status_code == 202, response.text  # no conflict with the other platform's
