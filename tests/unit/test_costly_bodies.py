"""A hostile body costs little and gets a short answer (issue 12, item 4).

Objects with too many fields and too deep nesting are refused while parsing, before any
validation; an answer lists at most ``MAX_LISTED_ERRORS`` errors and counts the rest. The
time and memory of the 500,000-field body are measured by ``benchmarks/costly_body.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api.apikeys import create_key
from pipeline.api.context import AppContext
from pipeline.api.models import MAX_DEPTH, MAX_LISTED_ERRORS, MAX_OBJECT_FIELDS
from pipeline.config import Settings
from tests.conftest import contribution
from tests.unit.test_api_decidim import PLATFORM, Decidim, proposal
from tests.unit.test_api_ingest import Api, open_api, without_platform


@pytest.fixture(name="api")
def api_fixture(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings)


@pytest.fixture(name="decidim")
def decidim_fixture(settings: Settings) -> Iterator[Decidim]:
    context = AppContext(settings)
    key = create_key(context.store, PLATFORM)
    with TestClient(create_app(settings, context=context)) as client:
        yield Decidim(client, context, key)
    context.close()


def post(api: Api, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.post(
        "/v1/contributions",
        content=raw,
        headers={**api.auth, "Content-Type": "application/json"},
    )


def with_unknown_fields(count: int) -> bytes:
    start = json.dumps(without_platform(1))[:-1]
    return (start + "," + ",".join(f'"unknown{n:06d}":1' for n in range(count)) + "}").encode()


def test_500000_unknown_fields_are_refused_with_a_short_answer(api: Api) -> None:
    response = post(api, with_unknown_fields(500_000))
    assert response.status_code == 422
    assert response.json()["error"] == "too_many_fields"
    assert f"more than the limit of {MAX_OBJECT_FIELDS}" in response.json()["detail"]
    assert len(response.content) < 1_000
    assert api.submitted() == []


def test_unknown_fields_under_the_limit_list_a_bounded_number_of_errors(api: Api) -> None:
    response = post(api, with_unknown_fields(MAX_OBJECT_FIELDS - 20))
    assert response.status_code == 422
    [item] = response.json()["errors"]
    assert len(item["fields"]) == MAX_LISTED_ERRORS + 1
    last = item["fields"][-1]
    assert last["type"] == "too_many_errors"
    assert last["message"] == f"{MAX_OBJECT_FIELDS - 20 - MAX_LISTED_ERRORS} more errors not listed"
    assert len(response.content) < 10_000


def test_a_batch_of_invalid_items_lists_a_bounded_number(api: Api) -> None:
    items = [without_platform(n, body=" ") for n in range(1, 101)]
    response = post(api, {"contributions": items})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == MAX_LISTED_ERRORS + 1
    assert errors[-1]["message"] == f"{100 - MAX_LISTED_ERRORS} more invalid item(s) not listed"
    assert "(and 99 more invalid item(s))" in response.json()["detail"]


def test_deep_nesting_is_refused_before_validation(api: Api) -> None:
    nested: Any = "x"
    for _ in range(MAX_DEPTH):
        nested = {"a": nested}
    response = post(api, {**without_platform(1), "title": nested})
    assert response.status_code == 422
    assert response.json()["error"] == "too_deep"
    shallow = post(api, {**without_platform(1), "title": {"a": {"b": "c"}}})
    assert shallow.status_code == 422 and shallow.json()["error"] == "invalid_contribution"


def test_decidim_resources_are_bounded_alike(decidim: Decidim) -> None:
    extra = {f"unknown{n}": 1 for n in range(MAX_OBJECT_FIELDS + 1)}
    response = decidim.post("/v1/decidim/resources", {**proposal(), **extra})
    assert response.status_code == 422
    assert response.json()["error"] == "too_many_fields"


def test_a_valid_contribution_still_goes_in(api: Api) -> None:
    assert post(api, contribution(1)).status_code == 202
