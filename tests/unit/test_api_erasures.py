"""``POST /v1/erasures``: an author's or one contribution's personal data, one platform only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.config import Settings
from pipeline.privacy.keyring import DATA_KEYS, key_id
from tests.unit.api_moderation_helpers import OTHER, PLATFORM, Api, open_api


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings)


def test_an_author_is_erased_once_and_a_repeat_is_the_same(api: Api) -> None:
    mine = api.store_item(1)  # author u-1
    api.store_item(8)  # u-1 again (contribution() cycles authors by n % 7)
    api.store_item(2)  # u-2: untouched
    first = api.post("/v1/erasures", {"author": mine.contribution.author})
    assert first.status_code == 202, first.text
    assert first.json()["contributions"] == [f"{PLATFORM}:c-1", f"{PLATFORM}:c-8"]
    again = api.post("/v1/erasures", {"author": mine.contribution.author})
    assert again.json()["event_ids"] == first.json()["event_ids"]
    events = api.events("decisions", "ErasureRequested")
    assert {str(e.event_id) for e in events} == set(first.json()["event_ids"])
    assert {e.scope for e in events} == {"author"}
    for n, erased in ((1, "erased"), (8, "erased"), (2, None)):
        assert api.context.store.cache_get(DATA_KEYS, key_id(f"{PLATFORM}:c-{n}")) == erased


def test_one_contribution_can_be_erased(api: Api) -> None:
    api.store_item(1)
    answer = api.post("/v1/erasures", {"id": "c-1"})
    assert answer.status_code == 202 and answer.json()["contributions"] == [f"{PLATFORM}:c-1"]
    [event] = api.events("decisions", "ErasureRequested")
    assert (event.scope, event.requested_by) == ("contribution", f"api:{PLATFORM}")


def test_unknown_or_another_platform_s_is_a_404_and_erases_nothing(api: Api) -> None:
    theirs = api.store_item(3, platform=OTHER)
    assert api.post("/v1/erasures", {"author": "nobody"}).status_code == 404
    refused = api.post("/v1/erasures", {"author": theirs.contribution.author})
    assert refused.status_code == 404 and "nothing was erased" in refused.json()["detail"]
    assert api.post("/v1/erasures", {"id": "c-3"}).status_code == 404
    assert api.context.store.cache_get(DATA_KEYS, key_id(theirs.contribution_id)) is None
    assert api.events("decisions", "ErasureRequested") == []


def test_a_request_names_an_author_or_an_id(api: Api) -> None:
    for body in ({}, {"author": "u-1", "id": "c-1"}, {"author": "u-1", "name": "x"}):
        assert api.post("/v1/erasures", body).status_code == 422, body
