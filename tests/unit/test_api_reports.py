"""POST /v1/reports, the Decidim reports adapter and Coral flags: reports become notices."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.api.coral import comment_id
from pipeline.api.report_reasons import REASON_TABLE, map_reason
from pipeline.config import Settings
from pipeline.schemas.moderation import REPORT_REASONS, ContributionReported, report_event_id
from tests.unit.api_moderation_helpers import OTHER, PLATFORM, Api, fields_of, open_api

SECRET = "hemicycle_" + "cd34" * 9
NOTICE = {
    "legal_ground": "Art. 130 StGB (incitement)",
    "explanation": "It calls for violence against a group.",
    "notifier_name": "A. Person",
    "notifier_email": "a.person@example.org",
    "bona_fide": True,
}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings.model_copy(update={"coral_secret": SecretStr(SECRET)}))


def reported(api: Api) -> list[ContributionReported]:
    return api.events("reports", "ContributionReported")


def test_a_report_of_a_known_contribution_is_published_with_its_version(api: Api) -> None:
    api.store_item(1)
    body = {"id": "c-1", "reporter": "r-1", "reason": "spam", "details": "Buy pills"}
    response = api.post("/v1/reports", body)
    assert response.status_code == 202, response.text
    answer = response.json()
    [event] = reported(api)
    assert answer == {
        "status": "accepted",
        "reports": [
            {
                "contribution_id": "decidim-test:c-1",
                "contribution_version": 1,
                "event_id": str(event.event_id),
                "reason": "spam",
                "status": "accepted",
            }
        ],
    }
    assert event.event_id == report_event_id("decidim-test:c-1", "r-1", "spam", "")
    assert (event.platform, event.reporter, event.details) == (PLATFORM, "r-1", "Buy pills")
    assert event.reason_source == "spam" and event.trace.producer == "api"


def test_a_report_is_about_the_stored_version(api: Api) -> None:
    item = api.store_item(2)
    bumped = item.contribution.model_copy(update={"version": 3})
    api.context.store.save(
        item.model_copy(update={"contribution": bumped}), event_id="seed-v3", expected_revision=1
    )
    response = api.post("/v1/reports", {"id": "c-2", "reporter": "r-1", "reason": "offensive"})
    assert response.json()["reports"][0]["contribution_version"] == 3
    assert reported(api)[0].contribution_version == 3


def test_a_retried_report_is_one_report(api: Api) -> None:
    api.store_item(1)
    body = {"id": "c-1", "reporter": "r-1", "reason": "spam", "report_ref": "rep-9"}
    first = api.post("/v1/reports", body)
    again = api.post("/v1/reports", body)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    events = reported(api)
    assert len({e.event_id for e in events}) == 1  # published twice, one id: dropped downstream
    batch = api.post("/v1/reports", {"reports": [body, body]})
    assert len({r["event_id"] for r in batch.json()["reports"]}) == 1
    assert len(reported(api)) == len(events) + 1  # a repeat inside a batch is published once


def test_a_report_for_an_unknown_contribution_waits_for_it(api: Api) -> None:
    response = api.post("/v1/reports", {"id": "c-404", "reporter": "r-1", "reason": "spam"})
    assert response.status_code == 202
    assert response.json()["status"] == "waiting_for_contribution"
    [entry] = response.json()["reports"]
    assert entry["status"] == "waiting_for_contribution"
    [event] = reported(api)
    assert (event.contribution_id, event.contribution_version) == ("decidim-test:c-404", 1)


def test_another_platforms_item_is_never_reported(api: Api) -> None:
    api.store_item(5, platform=OTHER)
    # The key of decidim-test names c-5: that is decidim-test's c-5 (unknown), never OTHER's.
    mine = api.post("/v1/reports", {"id": "c-5", "reporter": "r-1", "reason": "spam"})
    assert mine.json()["reports"][0]["contribution_id"] == "decidim-test:c-5"
    assert mine.json()["status"] == "waiting_for_contribution"
    prefixed = api.post("/v1/reports", {"id": f"{OTHER}:c-5", "reporter": "r-1", "reason": "spam"})
    assert prefixed.json()["reports"][0]["contribution_id"] == f"decidim-test:{OTHER}:c-5"
    forbidden = api.post(
        "/v1/reports", {"id": "c-5", "platform": OTHER, "reporter": "r-1", "reason": "spam"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "forbidden_platform"
    assert fields_of(forbidden) == {"platform"}
    assert all(e.contribution_id != f"{OTHER}:c-5" for e in reported(api))
    theirs = api.post("/v1/reports", {"id": "c-5", "reporter": "r-1", "reason": "spam"}, other=True)
    assert theirs.json()["reports"][0]["contribution_id"] == f"{OTHER}:c-5"
    assert theirs.json()["status"] == "accepted"


def test_an_illegal_content_report_needs_the_article_16_fields(api: Api) -> None:
    api.store_item(1)
    missing = api.post("/v1/reports", {"id": "c-1", "reporter": "r-1", "reason": "illegal"})
    assert missing.status_code == 422
    assert fields_of(missing) == {"notice.legal_ground", "notice.explanation", "notice.bona_fide"}
    assert "notice.legal_ground" in missing.json()["detail"]
    no_faith = api.post(
        "/v1/reports",
        {"id": "c-1", "reporter": "r-1", "reason": "illegal",
         "notice": {**NOTICE, "bona_fide": False}},
    )  # fmt: skip
    assert no_faith.status_code == 422 and fields_of(no_faith) == {"notice.bona_fide"}
    not_illegal = api.post(
        "/v1/reports", {"id": "c-1", "reporter": "r-1", "reason": "spam", "notice": NOTICE}
    )
    assert not_illegal.status_code == 422 and fields_of(not_illegal) == {"notice"}
    assert reported(api) == []
    ok = api.post(
        "/v1/reports",
        {"id": "c-1", "reporter": "r-1", "reason": "illegal",
         "notice": {**NOTICE, "trusted_flagger": True}},
    )  # fmt: skip
    assert ok.status_code == 202, ok.text
    [event] = reported(api)
    assert event.reason == "illegal" and event.notice is not None
    assert event.notice.legal_ground == NOTICE["legal_ground"] and event.notice.trusted_flagger


def test_unknown_fields_and_reasons_are_refused_naming_them(api: Api) -> None:
    unknown = api.post(
        "/v1/reports", {"id": "c-1", "reporter": "r-1", "reason": "spam", "severity": 3}
    )
    assert unknown.status_code == 422 and fields_of(unknown) == {"severity"}
    nested = api.post(
        "/v1/reports",
        {"id": "c-1", "reporter": "r-1", "reason": "illegal", "notice": {**NOTICE, "x": 1}},
    )
    assert nested.status_code == 422 and fields_of(nested) == {"notice.x"}
    reason = api.post("/v1/reports", {"id": "c-1", "reporter": "r-1", "reason": "boring"})
    assert reason.status_code == 422 and fields_of(reason) == {"reason"}
    assert "does_not_belong" in reason.json()["detail"]
    absent = api.post("/v1/reports", {"id": "c-1", "reason": "spam"})
    assert absent.status_code == 422 and fields_of(absent) == {"reporter"}
    assert reported(api) == []


def test_a_batch_is_all_or_nothing_and_bounded(api: Api) -> None:
    api.store_item(1)
    good = {"id": "c-1", "reporter": "r-1", "reason": "spam"}
    bad = {"id": "c-2", "reporter": "r-2", "reason": "nope"}
    refused = api.post("/v1/reports", {"reports": [good, bad]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["index"] == 1
    assert reported(api) == []
    many = {"reports": [good] * (api.settings.api_max_batch + 1)}
    assert api.post("/v1/reports", many).status_code == 413
    batch = api.post(
        "/v1/reports",
        {"reports": [good, {**good, "reporter": "r-2"}, {"id": "c-9", "reporter": "r-3",
                                                       "reason": "COMMENT_REPORTED_ABUSIVE"}]},
    )  # fmt: skip
    assert batch.status_code == 202
    assert [r["status"] for r in batch.json()["reports"]] == [
        "accepted",
        "accepted",
        "waiting_for_contribution",
    ]
    assert batch.json()["status"] == "waiting_for_contribution"
    by_reporter = {e.reporter: e for e in reported(api)}
    assert {r: e.reason for r, e in by_reporter.items()} == {
        "r-1": "spam",
        "r-2": "spam",
        "r-3": "offensive",
    }
    assert by_reporter["r-3"].reason_source == "COMMENT_REPORTED_ABUSIVE"


def test_reports_need_a_key(api: Api) -> None:
    body = {"id": "c-1", "reporter": "r-1", "reason": "spam"}
    assert api.client.post("/v1/reports", json=body).status_code == 401


def test_the_reason_table_maps_every_code_onto_ours() -> None:
    assert set(REASON_TABLE.values()) <= set(REPORT_REASONS)
    assert all(REASON_TABLE[r] == r for r in REPORT_REASONS)
    assert map_reason("comment_reported_spam") == "spam"
    assert map_reason(" hidden_during_block ") == "does_not_belong"
    assert map_reason("COMMENT_REPORTED_OTHER") == "does_not_belong"
    assert map_reason("what") is None


# --- Decidim ---------------------------------------------------------------------------------


def decidim_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "id": 31,
        "reason": "offensive",
        "details": "Insults another participant",
        "locale": "en",
        "created_at": "2026-11-21T09:00:00+00:00",
        "user": {"id": 5},
        "reportable": {"type": "Decidim::Comments::Comment", "id": 44},
    }
    report.update(changes)
    return report


def test_a_decidim_report_becomes_a_report(api: Api) -> None:
    response = api.post("/v1/decidim/reports", decidim_report())
    assert response.status_code == 202, response.text
    [event] = reported(api)
    assert event.contribution_id == "decidim-test:comment-44"
    assert (event.reporter, event.reason, event.details) == (
        "5",
        "offensive",
        "Insults another participant",
    )
    assert event.occurred_at.isoformat() == "2026-11-21T09:00:00+00:00"
    assert event.trace.producer == "decidim"
    assert event.event_id == report_event_id(
        "decidim-test:comment-44", "5", "offensive", "decidim-report-31"
    )
    again = api.post("/v1/decidim/reports", {"reports": [decidim_report()]})
    assert again.json()["reports"][0]["event_id"] == str(event.event_id)


def test_a_decidim_report_in_its_moderation_columns(api: Api) -> None:
    api.store_item(7)  # c-7 is no Decidim id: the proposal below is proposal-7
    body = decidim_report(reason="hidden_during_block")
    del body["reportable"]
    body["moderation"] = {
        "decidim_reportable_type": "Decidim::Proposals::Proposal",
        "decidim_reportable_id": 7,
    }
    response = api.post("/v1/decidim/reports", body)
    assert response.status_code == 202, response.text
    [event] = reported(api)
    assert event.contribution_id == "decidim-test:proposal-7"
    assert (event.reason, event.reason_source) == ("does_not_belong", "hidden_during_block")


def test_an_invalid_decidim_report_names_the_field(api: Api) -> None:
    unknown_type = api.post(
        "/v1/decidim/reports", decidim_report(reportable={"type": "Decidim::Blog", "id": 1})
    )
    assert unknown_type.status_code == 422 and fields_of(unknown_type) == {"reportable.type"}
    extra = api.post("/v1/decidim/reports", decidim_report(user={"id": 5, "email": "x@y.z"}))
    assert extra.status_code == 422 and fields_of(extra) == {"user.email"}
    reason = api.post("/v1/decidim/reports", decidim_report(reason="rude"))
    assert reason.status_code == 422 and fields_of(reason) == {"reason"}
    assert reported(api) == []


# --- Coral ----------------------------------------------------------------------------------


def coral_post(api: Api, body: dict[str, Any], secret: str = SECRET) -> Any:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Coral-Signature": f"sha256={signature}"}
    return api.client.post("/v1/coral/flags", content=raw, headers=headers)


def coral_flags(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenantID": "tenant-1",
        "story": {"id": "story-1", "url": "https://news.example/story-1"},
        "author": {"id": "user-1"},
        "comment": {"body": "<p>You are all idiots</p>", "parentID": None},
        "flags": [
            {"id": "a-1", "reason": "COMMENT_REPORTED_ABUSIVE", "userID": "user-7",
             "additionalDetails": "Name-calling"},
            {"reason": "COMMENT_DETECTED_TOXIC"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def test_coral_flags_become_reports_of_the_comment_the_moderation_phase_named(api: Api) -> None:
    response = coral_post(api, coral_flags())
    assert response.status_code == 202, response.text
    cid = comment_id("story-1", "user-1", None, "You are all idiots")
    events = reported(api)
    assert [e.contribution_id for e in events] == [f"coral-tenant-1:{cid}"] * 2
    assert [(e.reporter, e.reason, e.reason_source) for e in events] == [
        ("user-7", "offensive", "COMMENT_REPORTED_ABUSIVE"),
        ("coral-system", "offensive", "COMMENT_DETECTED_TOXIC"),
    ]
    assert events[0].details == "Name-calling" and events[0].platform == "coral-tenant-1"
    assert response.json()["status"] == "waiting_for_contribution"


def test_a_coral_dsa_report_is_an_illegal_content_notice(api: Api) -> None:
    dsa = {
        "referenceID": "r-3",
        "userID": "user-8",
        "lawBrokenDescription": "Defamation",
        "additionalInformation": "False claims about a named person",
        "bonaFide": True,
    }
    response = coral_post(api, coral_flags(flags=[], dsaReports=[dsa]))
    assert response.status_code == 202, response.text
    [event] = reported(api)
    assert event.reason == "illegal" and event.notice is not None
    assert (event.notice.legal_ground, event.notice.explanation) == (
        "Defamation",
        "False claims about a named person",
    )
    refused = coral_post(api, coral_flags(flags=[], dsaReports=[{**dsa, "bonaFide": False}]))
    assert refused.status_code == 422 and fields_of(refused) == {"notice.bona_fide"}


def test_coral_flags_must_be_signed(api: Api) -> None:
    assert coral_post(api, coral_flags(), secret="x" * 40).status_code == 401
    unsigned = api.client.post("/v1/coral/flags", json=coral_flags())
    assert unsigned.status_code == 401
    assert coral_post(api, coral_flags(flags=[])).status_code == 422
    assert reported(api) == []
