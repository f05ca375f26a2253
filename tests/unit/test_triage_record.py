"""Triage keeps the moderation of record: reports, appeals, sanctions, statements, answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.policy import Override, load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    LanguageIdentified,
    LanguageResult,
    ModerationDecided,
    ModerationOutcome,
    Score,
)
from pipeline.schemas.moderation import (
    AppealDecided,
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    IllegalNotice,
    PartyNotified,
    SanctionLifted,
    report_event_id,
)
from pipeline.store.embedded import EmbeddedStore
from pipeline.workers.triage import TriageStage
from tests.conftest import contribution

CID = "decidim-test:c-1"
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def identified(n: int = 1, minute: float = 0, **overrides: Any) -> LanguageIdentified:
    fields = {"created_at": at(minute).isoformat(), **overrides}
    source = ContributionSubmitted(contribution=contribution(n, **fields))
    return source.derive(
        LanguageIdentified,
        producer="langid",
        occurred_at=at(minute),
        contribution=source.contribution,
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="t"),
        detector="t",
    )


def scored(event: LanguageIdentified, toxicity: float = 0.05) -> ContributionScored:
    return event.derive(
        ContributionScored,
        producer="scorer",
        occurred_at=event.occurred_at,
        scores=[Score(category="toxicity", value=toxicity, model="m")],
    )


def report(reporter: str, minute: float, reason: str = "spam", **fields: Any) -> Any:
    return ContributionReported(
        event_id=report_event_id(CID, reporter, reason),
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(minute),
        platform="decidim-test",
        reporter=reporter,
        reason=reason,  # type: ignore[arg-type]
        **fields,
    )


def decided(decision: str, by: str, minute: float, seen: int, **fields: Any) -> Any:
    return ModerationDecided(
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(minute),
        decision=decision,  # type: ignore[arg-type]
        moderator=by,
        seen_decisions=seen,
        **fields,
    )


def of(outputs: list[Any], kind: type) -> list[Any]:
    return [o for o in outputs if isinstance(o, kind)]


@pytest.fixture
def triage(tmp_path: Path) -> TriageStage:
    return TriageStage(EmbeddedStore(tmp_path / "store.sqlite3"), load_policy())


def test_three_distinct_reporters_hide_an_item_pending_review(triage: TriageStage) -> None:
    first = identified()
    assert of(triage.process([first, scored(first)]), ModerationOutcome)[0].outcome == "approved"
    out = triage.process([report("r-1", 5), report("r-1", 6, "offensive", details="rude too")])
    receipts = of(out, PartyNotified)
    assert [(n.kind, n.recipient) for n in receipts] == [("report_received", "r-1")] * 2
    item = triage.store.get(CID)
    assert item is not None and item.state == "needs_review"  # a report asks for a look
    assert item.reasons[0] == "reported by 1 person (offensive, spam)"  # twice: one person
    assert item.priority >= 1.0  # one reporter raises the priority by one
    out = triage.process([report("r-2", 7), report("r-3", 8)])
    item = triage.store.get(CID)
    assert item is not None and item.state == "auto_hidden"
    assert item.reasons[0] == "reported by 3 people (spam x3, offensive) ≥ 3 (policy: default)"
    [hidden] = of(out, ModerationOutcome)
    statement = hidden.statement_of_reasons
    assert statement is not None and item.statements == [statement]
    assert (statement.restriction, statement.source, statement.category) == (
        "hidden",
        "other_notification",
        "spam",
    )
    assert (statement.automated_detection, statement.automated_decision) == (False, "fully")
    assert statement.decided_at == at(8)  # the third reporter's report, not the clock
    author = [n for n in of(out, PartyNotified) if n.kind == "restriction"]
    assert [n.recipient for n in author] == ["u-1"]
    assert [a.rule for a in item.automatic] == ["reports"]
    # A moderator confirms: every reporter whose report was open is told how it was decided.
    out = triage.process([decided("reject", "ana", 9, 0, reason_code="spam")])
    answered = [n for n in of(out, PartyNotified) if n.kind == "report_decided"]
    assert sorted(n.recipient for n in answered) == ["r-1", "r-2", "r-3"]
    assert {n.outcome for n in answered} == {"rejected"}
    item = triage.store.get(CID)
    assert item is not None and item.open_reports() == []
    assert [s.superseded for s in item.statements] == [True, False]  # auto hide, then reject


def test_a_space_can_hide_after_fewer_reports(tmp_path: Path) -> None:
    policy = load_policy().model_copy(
        update={"spaces": {"climate": Override(reports_hide_after=1)}}
    )
    triage = TriageStage(EmbeddedStore(tmp_path / "s.sqlite3"), policy)
    first = identified()
    triage.process([first, scored(first), report("r-1", 1)])
    item = triage.store.get(CID)
    assert item is not None and item.state == "auto_hidden"
    assert "(policy: space climate)" in item.reasons[0]


def test_a_report_for_an_unknown_contribution_waits_for_it(triage: TriageStage) -> None:
    assert of(triage.process([report("r-1", 0)]), PartyNotified) == []
    assert triage.store.get(CID) is None
    first = identified()
    out = triage.process([first, scored(first)])
    item = triage.store.get(CID)
    assert item is not None and [r.reporter for r in item.reports] == ["r-1"]
    assert [n.kind for n in of(out, PartyNotified)] == ["report_received"]


def test_an_illegal_content_notice_is_escalated_with_its_legal_ground(triage: TriageStage) -> None:
    first = identified()
    notice = IllegalNotice(
        legal_ground="§ 130 StGB (incitement)",
        explanation="Calls for violence against a group.",
        notifier_name="N. Otifier",
        notifier_email="n@example.org",
        bona_fide=True,
    )
    triage.process([first, scored(first), report("r-1", 1, "illegal", notice=notice)])
    item = triage.store.get(CID)
    assert item is not None and item.state == "escalated"
    assert item.reasons[0] == "notice of illegal content: § 130 StGB (incitement)"
    [outcome] = of(
        triage.process([decided("reject", "lead", 2, 0, reason_code="illegal")]), ModerationOutcome
    )
    statement = outcome.statement_of_reasons
    assert statement is not None
    assert (statement.ground, statement.legal_ground, statement.source) == (
        "illegal",
        "§ 130 StGB (incitement)",
        "article_16",
    )
    assert "n@example.org" not in statement.model_dump_json()


def test_an_appeal_is_decided_by_another_moderator_and_reverses(triage: TriageStage) -> None:
    first = identified()
    triage.process([first, scored(first), decided("reject", "ana", 1, 0, reason_code="spam")])
    appeal = AppealFiled(
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(2),
        platform="decidim-test",
        appellant="u-1",
        statement="This is a real proposal.",
    )
    triage.process([appeal])
    item = triage.store.get(CID)
    assert item is not None and item.appeals[0].against_by == "ana"

    def decide(by: str, minute: float) -> list[Any]:
        return triage.process(
            [
                AppealDecided(
                    contribution_id=CID,
                    contribution_version=1,
                    occurred_at=at(minute),
                    appeal_id=str(appeal.event_id),
                    result="reversed",
                    moderator=by,
                    reply="On a second reading it is on topic.",
                )
            ]
        )

    assert decide("ana", 3) == []  # the decider may not judge their own decision
    item = triage.store.get(CID)
    assert item is not None and item.state == "rejected" and item.open_appeals()
    out = decide("ben", 4)
    item = triage.store.get(CID)
    assert item is not None and item.state == "approved" and not item.open_appeals()
    [outcome] = of(out, ModerationOutcome)
    assert (outcome.outcome, outcome.decided_by) == ("approved", "ben")
    [answer] = of(out, PartyNotified)
    assert (answer.kind, answer.recipient, answer.outcome) == ("appeal_decided", "u-1", "reversed")
    assert item.decisions[-1].reverses == item.decisions[0].event_id
    assert [s.superseded for s in item.statements] == [True]


def test_a_sanctioned_author_is_pre_moderated_until_lifted(triage: TriageStage) -> None:
    first = identified()
    sanction = AuthorSanctioned(
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(10),
        platform="decidim-test",
        author="u-1",
        action="premoderate",
        moderator="ana",
        statement="Repeated spam.",
    )
    out = triage.process([first, scored(first), sanction])
    assert [(n.kind, n.recipient) for n in of(out, PartyNotified)] == [("sanction", "u-1")]
    later = identified(8, 20)  # the same author (u-1), written after the sanction
    triage.process([later, scored(later)])
    item = triage.store.get("decidim-test:c-8")
    assert item is not None and item.state == "auto_hidden"
    assert item.reasons[0].startswith(
        "pre-moderation: the author is sanctioned (premoderate by ana"
    )
    triage.process(
        [
            SanctionLifted(
                contribution_id=CID,
                contribution_version=1,
                occurred_at=at(30),
                sanction_id=str(sanction.event_id),
                moderator="ben",
                reason="Behaves now.",
            )
        ]
    )
    after = identified(15, 40)
    triage.process([after, scored(after)])
    item = triage.store.get("decidim-test:c-15")
    assert item is not None and item.state == "auto_approved"


def test_a_suspension_has_a_statement_of_reasons(triage: TriageStage) -> None:
    first = identified()
    suspension = AuthorSanctioned(
        contribution_id=CID,
        contribution_version=1,
        occurred_at=at(10),
        platform="decidim-test",
        author="u-1",
        action="suspend",
        until=at(10) + timedelta(days=7),
        moderator="ana",
        reason_code="harassment",
        statement="Insulted other participants.",
    )
    out = triage.process([first, scored(first), suspension])
    [notice] = of(out, PartyNotified)
    assert notice.statement_of_reasons is not None
    assert notice.statement_of_reasons.restriction == "suspend"
    assert notice.statement_of_reasons.end_date == (at(10) + timedelta(days=7)).date()
    assert notice.until == suspension.until


def test_replayed_record_events_owe_the_same_answers(triage: TriageStage) -> None:
    first = identified()
    triage.process([first, scored(first)])
    event = report("r-1", 3)
    once = triage.process([event])
    again = triage.process([event])  # a crash after the store write: the receipt is owed
    assert [o.event_id for o in again] == [o.event_id for o in once]
    item = triage.store.get(CID)
    assert item is not None and len(item.reports) == 1


def test_an_undone_first_decision_gives_the_item_back_to_the_policy(triage: TriageStage) -> None:
    first = identified()
    triage.process([first, scored(first, toxicity=0.97)])  # hidden by the policy
    reject = decided("reject", "ana", 1, 0, reason_code="offensive")
    triage.process([reject])
    out = triage.process([decided("requeue", "ana", 2, 1, reverses=str(reject.event_id))])
    item = triage.store.get(CID)
    assert item is not None and item.state == "auto_hidden"  # as the policy had it
    [outcome] = of(out, ModerationOutcome)
    assert (outcome.outcome, outcome.automatic, outcome.decided_by) == (
        "needs_review",
        False,
        "ana",
    )
    assert [s.superseded for s in item.statements if s.restriction == "rejected"] == [True]
