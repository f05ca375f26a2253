"""Reports, appeals and sanctions sent through the platform API reach the queue item.

The real app (TestClient), the embedded bus and store, and the real workers: a Decidim report
made before its proposal is known waits for it; a Coral flag lands on the comment the
moderation phase submitted; a reporter reporting twice counts once; an appeal and a sanction
filed through the API are folded into the item.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.api import coral
from pipeline.config import Settings
from pipeline.schemas.events import ModerationDecided
from pipeline.schemas.ids import submission_event
from pipeline.schemas.keys import contribution_key
from pipeline.service import Pipeline
from pipeline.store.base import QueueQuery
from tests.unit.api_moderation_helpers import PLATFORM, Api, open_api

SECRET = "hemicycle_" + "ef56" * 9
WORKERS = ["langid", "translator", "scorer", "triage"]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings.model_copy(update={"coral_secret": SecretStr(SECRET)}))


def run_pipeline(settings: Settings) -> None:
    with Pipeline(settings, WORKERS) as pipeline:
        pipeline.run(until_idle=True)


def proposal(n: int) -> dict[str, Any]:
    return {
        "resource_type": "proposal",
        "id": n,
        "space": "process-1",
        "author": "u-1",
        "created_at": "2026-11-20T10:00:00+00:00",
        "locale": "en",
        "title": {"en": "More trees"},
        "body": {"en": "We should plant more trees along the river and build safe cycle lanes."},
    }


def decidim_report(report_id: int, user: int, reason: str) -> dict[str, Any]:
    return {
        "id": report_id,
        "reason": reason,
        "details": "Not about the process",
        "user": {"id": user},
        "reportable": {"type": "Decidim::Proposals::Proposal", "id": 7},
    }


def test_decidim_reports_wait_for_their_proposal_and_count_each_reporter_once(api: Api) -> None:
    early = api.post("/v1/decidim/reports", decidim_report(1, 5, "does_not_belong"))
    assert early.json()["status"] == "waiting_for_contribution"
    run_pipeline(api.settings)  # the report is parked: no item yet
    key = contribution_key(PLATFORM, "proposal-7")
    assert api.context.store.get(key) is None
    assert api.post("/v1/decidim/resources", proposal(7)).status_code == 202
    run_pipeline(api.settings)
    late = api.post(
        "/v1/decidim/reports",
        {"reports": [decidim_report(2, 5, "spam"), decidim_report(3, 6, "offensive")]},
    )
    assert late.json()["status"] == "accepted"
    run_pipeline(api.settings)
    item = api.context.store.get(key)
    assert item is not None
    assert sorted(r.reason for r in item.reports) == ["does_not_belong", "offensive", "spam"]
    assert item.reporters() == 2  # user 5 reported twice
    reported = api.context.store.query(QueueQuery(reported="open")).items
    assert [i.contribution_id for i in reported] == [key]  # the Reported tab's query


def test_a_coral_flag_lands_on_the_comment_the_moderation_phase_submitted(api: Api) -> None:
    comment = {
        "body": "<p>The square needs more benches and shade for older neighbours.</p>",
        "parentID": None,
    }
    text = coral.html_to_text(comment["body"])
    contribution = coral.comment_contribution(
        coral.CoralRequest.model_validate(
            {
                "action": "NEW",
                "comment": comment,
                "author": {"id": "user-1"},
                "story": {"id": "story-1"},
                "tenantID": "tenant-1",
            }
        ),
        text,
        api.settings,
    )
    api.context.publish([submission_event(contribution, producer="coral")])
    run_pipeline(api.settings)
    body = {
        "tenantID": "tenant-1",
        "story": {"id": "story-1"},
        "author": {"id": "user-1"},
        "comment": comment,
        "flags": [{"id": "a-1", "reason": "COMMENT_REPORTED_SPAM", "userID": "user-7"}],
    }
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = api.client.post(
        "/v1/coral/flags",
        content=raw,
        headers={"Content-Type": "application/json", "X-Coral-Signature": f"sha256={signature}"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    run_pipeline(api.settings)
    item = api.context.store.get(contribution.key)
    assert item is not None
    [report] = item.reports
    assert (report.reporter, report.reason, report.reason_source) == (
        "user-7",
        "spam",
        "COMMENT_REPORTED_SPAM",
    )
    reported = api.context.store.query(QueueQuery(reported="open")).items
    assert contribution.key in [i.contribution_id for i in reported]  # in the Reported tab


def test_a_sanction_and_an_appeal_through_the_api_reach_the_item(api: Api) -> None:
    assert api.post("/v1/decidim/resources", proposal(8)).status_code == 202
    run_pipeline(api.settings)
    sanction = api.post(
        "/v1/sanctions", {"id": "proposal-8", "action": "warn", "statement": "Mind the rules."}
    )
    assert sanction.status_code == 202, sanction.text
    run_pipeline(api.settings)
    item = api.context.store.get(contribution_key(PLATFORM, "proposal-8"))
    assert item is not None
    assert [s.event_id for s in item.sanctions] == [sanction.json()["sanction_id"]]
    assert item.sanctions[0].author == "u-1"
    lift = api.post(f"/v1/sanctions/{sanction.json()['sanction_id']}/lift", {"reason": "Sorry."})
    assert lift.status_code == 202
    run_pipeline(api.settings)
    item = api.context.store.get(contribution_key(PLATFORM, "proposal-8"))
    assert item is not None and item.sanctions[0].lifted_at is not None


def test_an_appeal_through_the_api_reaches_the_decided_item(api: Api) -> None:
    assert api.post("/v1/decidim/resources", proposal(9)).status_code == 202
    run_pipeline(api.settings)
    key = contribution_key(PLATFORM, "proposal-9")
    assert (
        api.post(
            "/v1/appeals", {"id": "proposal-9", "appellant": "u-1", "statement": "Unfair."}
        ).status_code
        == 404
    )
    decided = ModerationDecided(
        contribution_id=key,
        contribution_version=1,
        decision="reject",
        moderator="mod-1",
        reason_code="off_topic",
        statement="Not about the process.",
        seen_decisions=0,
    )
    api.context.publish([decided])  # as the moderator UI does
    run_pipeline(api.settings)
    appeal = api.post(
        "/v1/appeals",
        {"id": "proposal-9", "appellant": "u-1", "statement": "Unfair.", "appeal_ref": "ap-1"},
    )
    assert appeal.status_code == 202, appeal.text
    run_pipeline(api.settings)
    item = api.context.store.get(key)
    assert item is not None
    assert [(a.event_id, a.appellant) for a in item.appeals] == [(appeal.json()["event_id"], "u-1")]
