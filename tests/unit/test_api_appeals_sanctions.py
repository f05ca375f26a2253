"""POST /v1/appeals, POST /v1/sanctions and POST /v1/sanctions/{id}/lift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import Settings
from pipeline.schemas.queue import AutomaticOutcome, Decision, Report, Sanction
from tests.unit.api_moderation_helpers import OTHER, Api, fields_of, open_api


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings)


def rejected(days_ago: float) -> Decision:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return Decision(decision="reject", by="mod-1", at=at, version=1, event_id="d-1")


def appeal(**changes: str) -> dict[str, str]:
    body = {"id": "c-1", "appellant": "u-1", "statement": "My post was satire, not abuse."}
    body.update(changes)
    return body


# --- appeals ---------------------------------------------------------------------------------


def test_an_author_appeals_a_decision(api: Api) -> None:
    api.store_item(1, decisions=[rejected(3)])  # contribution 1's author is u-1
    response = api.post("/v1/appeals", appeal(appeal_ref="ap-1"))
    assert response.status_code == 202, response.text
    [event] = api.events("decisions", "AppealFiled")
    answer = response.json()
    assert answer["event_id"] == str(event.event_id)
    assert answer["contribution_id"] == event.contribution_id == "decidim-test:c-1"
    assert (event.appellant, event.appellant_role, event.appeal_ref) == ("u-1", "author", "ap-1")
    closes = datetime.fromisoformat(answer["window_closes_at"])
    assert closes - datetime.fromisoformat(answer["appealed_at"]) == timedelta(days=183)
    again = api.post("/v1/appeals", appeal(appeal_ref="ap-1"))
    assert again.json()["event_id"] == answer["event_id"]
    assert len({e.event_id for e in api.events("decisions", "AppealFiled")}) == 1


def test_without_a_ref_the_statement_names_the_appeal(api: Api) -> None:
    api.store_item(1, decisions=[rejected(1)])
    first = api.post("/v1/appeals", appeal()).json()["event_id"]
    assert api.post("/v1/appeals", appeal()).json()["event_id"] == first
    other = api.post("/v1/appeals", appeal(statement="Another complaint")).json()["event_id"]
    assert other != first


def test_a_restrictive_automatic_outcome_can_be_appealed_by_a_reporter(api: Api) -> None:
    at = datetime.now(UTC) - timedelta(days=10)
    report = Report(event_id="rep-1", reporter="r-9", reason="spam", at=at, version=1)
    hidden = AutomaticOutcome(event_id="o-1", outcome="hidden", version=1, at=at, rule="reports")
    api.store_item(1, automatic=[hidden], reports=[report])
    response = api.post("/v1/appeals", appeal(appellant="r-9", appellant_role="reporter"))
    assert response.status_code == 202, response.text
    stranger = api.post("/v1/appeals", appeal(appellant="r-0", appellant_role="reporter"))
    assert stranger.status_code == 422 and fields_of(stranger) == {"appellant"}
    not_author = api.post("/v1/appeals", appeal(appellant="u-3"))
    assert not_author.status_code == 422 and fields_of(not_author) == {"appellant"}


def test_an_unknown_or_undecided_contribution_cannot_be_appealed(api: Api) -> None:
    unknown = api.post("/v1/appeals", appeal(id="c-404"))
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert "c-404" in unknown.json()["detail"]
    approved = AutomaticOutcome(
        event_id="o-1", outcome="approved", version=1, at=datetime.now(UTC), rule="toxicity"
    )
    api.store_item(1, automatic=[approved])
    undecided = api.post("/v1/appeals", appeal())
    assert undecided.status_code == 404 and undecided.json()["error"] == "nothing_to_appeal"
    assert api.events("decisions", "AppealFiled") == []


def test_another_platforms_item_cannot_be_appealed(api: Api) -> None:
    api.store_item(1, platform=OTHER, decisions=[rejected(1)])
    assert api.post("/v1/appeals", appeal()).status_code == 404
    assert api.post("/v1/appeals", appeal(platform=OTHER)).status_code == 403
    assert api.post("/v1/appeals", appeal(), other=True).status_code == 202


def test_an_appeal_outside_the_window_is_refused_naming_it(api: Api) -> None:
    api.store_item(1, decisions=[rejected(200)])
    response = api.post("/v1/appeals", appeal())
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "appeal_window_closed"
    assert "HEMICYCLE_APPEAL_WINDOW_DAYS" in body["detail"] and "183 days" in body["detail"]
    assert api.events("decisions", "AppealFiled") == []


def test_the_window_is_a_setting(settings: Settings) -> None:
    for api in open_api(settings.model_copy(update={"appeal_window_days": 365})):
        api.store_item(1, decisions=[rejected(200)])
        assert api.post("/v1/appeals", appeal()).status_code == 202


def test_unknown_appeal_fields_are_refused(api: Api) -> None:
    api.store_item(1, decisions=[rejected(1)])
    response = api.post("/v1/appeals", {**appeal(), "urgent": True})
    assert response.status_code == 422 and fields_of(response) == {"urgent"}
    role = api.post("/v1/appeals", appeal(appellant_role="lawyer"))
    assert role.status_code == 422 and fields_of(role) == {"appellant_role"}


# --- sanctions --------------------------------------------------------------------------------


def test_a_sanction_names_the_stored_author_and_a_retry_is_one_sanction(api: Api) -> None:
    api.store_item(3)  # author u-3
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {"id": "c-3", "action": "suspend", "until": until, "statement": "Repeated insults."}
    response = api.post("/v1/sanctions", body)
    assert response.status_code == 202, response.text
    [event] = api.events("decisions", "AuthorSanctioned")
    answer = response.json()
    assert answer["sanction_id"] == str(event.event_id)
    assert (event.author, event.action, event.moderator) == (
        "u-3",
        "suspend",
        "platform:decidim-test",
    )
    assert event.until is not None and event.until.isoformat() == until
    assert api.post("/v1/sanctions", body).json()["sanction_id"] == answer["sanction_id"]
    ban = api.post("/v1/sanctions", {"id": "c-3", "action": "ban", "statement": "Spam bot.",
                                     "moderator": "legal-team"})  # fmt: skip
    assert ban.status_code == 202
    assert api.events("decisions", "AuthorSanctioned")[-1].moderator == "legal-team"


def test_a_suspension_needs_an_end_date_in_the_future(api: Api) -> None:
    api.store_item(3)
    base = {"id": "c-3", "action": "suspend", "statement": "Insults."}
    missing = api.post("/v1/sanctions", base)
    assert missing.status_code == 422 and fields_of(missing) == {"until"}
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert fields_of(api.post("/v1/sanctions", {**base, "until": past})) == {"until"}
    warn_until = {
        **base,
        "action": "warn",
        "until": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    assert fields_of(api.post("/v1/sanctions", warn_until)) == {"until"}
    assert fields_of(api.post("/v1/sanctions", {**base, "action": "shame"})) == {"action"}
    assert api.events("decisions", "AuthorSanctioned") == []


def test_a_sanction_for_an_unknown_or_foreign_contribution_is_refused(api: Api) -> None:
    api.store_item(3, platform=OTHER)
    body = {"id": "c-3", "action": "warn", "statement": "Mind your tone."}
    assert api.post("/v1/sanctions", body).status_code == 404
    assert api.post("/v1/sanctions", {**body, "platform": OTHER}).status_code == 403
    assert api.events("decisions", "AuthorSanctioned") == []


def test_a_sanction_is_lifted_once(api: Api) -> None:
    api.store_item(3)
    imposed = api.post("/v1/sanctions", {"id": "c-3", "action": "ban", "statement": "Spam."})
    sanction_id = imposed.json()["sanction_id"]
    lift = api.post(f"/v1/sanctions/{sanction_id}/lift", {"reason": "Appeal upheld the author."})
    assert lift.status_code == 202, lift.text
    [event] = api.events("decisions", "SanctionLifted")
    assert (event.sanction_id, event.contribution_id) == (sanction_id, "decidim-test:c-3")
    again = api.post(f"/v1/sanctions/{sanction_id}/lift", {"reason": "Appeal upheld the author."})
    assert again.json()["event_id"] == lift.json()["event_id"] == str(event.event_id)
    # Another platform's key cannot lift it.
    foreign = api.post(f"/v1/sanctions/{sanction_id}/lift", {"reason": "x"}, other=True)
    assert foreign.status_code == 404
    assert api.post("/v1/sanctions/not-a-uuid/lift", {"reason": "x"}).status_code == 404


def test_a_sanction_folded_into_the_item_is_found_by_its_contribution(api: Api) -> None:
    at = datetime.now(UTC) - timedelta(days=1)
    held = Sanction(
        event_id="7f1c2a9e-0000-4000-8000-000000000001", author="u-3", action="warn", by="mod-1",
        at=at, statement="Tone.",
    )  # fmt: skip
    lifted = held.model_copy(
        update={"event_id": "7f1c2a9e-0000-4000-8000-000000000002", "lifted_at": at}
    )
    api.store_item(3, sanctions=[held, lifted])
    ok = api.post(f"/v1/sanctions/{held.event_id}/lift", {"id": "c-3", "reason": "Mistake."})
    assert ok.status_code == 202, ok.text
    twice = api.post(f"/v1/sanctions/{lifted.event_id}/lift", {"id": "c-3", "reason": "Again."})
    assert twice.status_code == 409 and twice.json()["error"] == "already_lifted"
    unknown = api.post(
        "/v1/sanctions/7f1c2a9e-0000-4000-8000-000000000003/lift", {"id": "c-3", "reason": "?"}
    )
    assert unknown.status_code == 404
