"""Transparency figures from a hand-built set of items: exact numbers, and the three formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.config import Settings
from pipeline.schemas import Contribution
from pipeline.schemas.events import LanguageResult
from pipeline.schemas.moderation import IllegalNotice
from pipeline.schemas.queue import Appeal, AutomaticOutcome, Decision, QueueItem, Report
from pipeline.schemas.statements import StatementOfReasons, statement_puid
from pipeline.store import open_store
from pipeline.transparency import csv_rows, to_csv, to_html, to_json, transparency_report
from tests.conftest import contribution

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def at(day: int, hour: float = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, int(hour), int(hour % 1 * 60), tzinfo=UTC)


def notice(trusted: bool = False) -> IllegalNotice:
    return IllegalNotice(
        legal_ground="Art. 130 StGB", explanation="Incitement", bona_fide=True,
        trusted_flagger=trusted,
    )  # fmt: skip


def report(n: int, reason: str, when: datetime, **fields: Any) -> Report:
    return Report(
        event_id=f"rep-{n}", reporter=f"r-{n}", reason=reason, at=when, version=1, **fields
    )


def statement(n: int, when: datetime, category: str, restriction: str, automated: str) -> Any:
    return StatementOfReasons(
        puid=statement_puid(f"00000000-0000-4000-8000-{n:012d}"),
        outcome_event_id=f"out-{n}",
        contribution_id=f"decidim-test:c-{n}",
        contribution_version=1,
        platform="decidim-test",
        space="climate",
        kind="proposal",
        restriction=restriction,  # type: ignore[arg-type]
        ground="incompatible",
        category=category,
        incompatible_ground="House rules",
        facts="Facts.",
        source="voluntary",
        automated_detection=automated != "not",
        automated_decision=automated,  # type: ignore[arg-type]
        content_date=when.date(),
        application_date=when.date(),
        decided_at=when,
    )


def automatic(n: int, outcome: str, when: datetime, rule: str) -> AutomaticOutcome:
    return AutomaticOutcome(event_id=f"auto-{n}", outcome=outcome, version=1, at=when, rule=rule)


def human(decision: str, when: datetime) -> Decision:
    return Decision(decision=decision, by="mod-1", at=when, version=1)


def item(n: int, created: datetime, lang: str, **fields: Any) -> QueueItem:
    data = contribution(n, created_at=created.isoformat())
    language = LanguageResult(lang=lang, confidence=0.99, reliable=True, method="fasttext")
    return QueueItem(
        contribution=Contribution.model_validate(data),
        language=language,
        submitted_at=created,
        updated_at=created,
        **fields,
    )


def items() -> list[QueueItem]:
    a = item(
        1, at(10), "en",
        reports=[
            report(1, "spam", at(10, 2)),
            report(2, "illegal", at(10, 4), notice=notice()),
            report(3, "offensive", at(10, 5), notice=notice(trusted=True)),
        ],
        automatic=[automatic(1, "hidden", at(10, 6), "reports")],
        decisions=[human("approve", at(10, 12))],
        statements=[statement(1, at(10, 6), "illegal", "hidden", "fully")],
        appeals=[Appeal(event_id="ap-1", appellant="u-1", appellant_role="author",
                        statement="Unfair", at=at(11), result="reversed")],
    )  # fmt: skip
    b = item(
        2, at(20), "de",
        automatic=[automatic(2, "rejected", at(20, 1), "toxicity")],
        decisions=[human("escalate", at(20, 2)), human("reject", at(20, 3))],
        statements=[statement(2, at(20, 1), "offensive", "rejected", "fully")],
    )  # fmt: skip
    c = item(
        3, at(5), "en",
        reports=[report(4, "spam", at(6))],
        automatic=[automatic(3, "approved", at(5, 0.5), "toxicity")],
        decisions=[human("reject", at(6, 10))],
        statements=[statement(3, at(6, 10), "spam", "rejected", "not")],
        appeals=[
            Appeal(event_id="ap-2", appellant="u-3", appellant_role="author", statement="No",
                   at=at(7), result="upheld"),
            Appeal(event_id="ap-3", appellant="r-4", appellant_role="reporter", statement="?",
                   at=at(8)),
        ],
    )  # fmt: skip
    outside = item(
        4, at(1, month=10), "fr",
        reports=[report(5, "spam", at(1, 1, month=10))],
        automatic=[automatic(4, "hidden", at(1, 2, month=10), "spam")],
        statements=[statement(4, at(2, month=10), "spam", "hidden", "fully")],
    )  # fmt: skip
    return [a, b, c, outside]


def test_the_figures_of_a_period_are_exact() -> None:
    report_ = transparency_report(items(), *NOVEMBER)
    assert report_.notices.model_dump() == {
        "total": 4,
        "by_reason": {"spam": 2, "illegal": 1, "offensive": 1},
        "by_source": {"other": 2, "article_16": 1, "trusted_flagger": 1},
    }
    assert report_.actions.model_dump() == {
        "total": 3,
        "by_category": {"illegal": 1, "offensive": 1, "spam": 1},
        "by_restriction": {"rejected": 2, "hidden": 1},
        "by_automation": {"automated": 2, "human": 1},
    }
    # submission → action: 6 h, 1 h, 34 h; notice → action: 4 h (first report), 10 h.
    assert report_.median_hours.model_dump() == {
        "submission_to_action": 6.0,
        "notice_to_action": 7.0,
    }
    assert report_.appeals.model_dump() == {"received": 3, "upheld": 1, "reversed": 1, "pending": 1}
    assert [a.model_dump() for a in report_.accuracy] == [
        {"rule": "reports", "language": "en", "automatic": 1, "reversed": 1, "reversed_share": 1.0},
        {
            "rule": "toxicity",
            "language": "de",
            "automatic": 1,
            "reversed": 0,
            "reversed_share": 0.0,
        },
        {
            "rule": "toxicity",
            "language": "en",
            "automatic": 1,
            "reversed": 1,
            "reversed_share": 1.0,
        },
    ]


def test_the_period_bounds_are_whole_days_and_items_outside_count_nowhere() -> None:
    october = transparency_report(items(), date(2026, 10, 1), date(2026, 10, 31))
    assert (october.notices.total, october.actions.total) == (1, 1)
    assert [(a.rule, a.language) for a in october.accuracy] == [("spam", "fr")]
    one_day = transparency_report(items(), date(2026, 11, 10), date(2026, 11, 10))
    assert one_day.notices.total == 3 and one_day.appeals.received == 0
    empty = transparency_report([], *NOVEMBER)
    assert empty.median_hours.submission_to_action is None and empty.accuracy == []
    with pytest.raises(ValueError, match="before it starts"):
        transparency_report([], date(2026, 11, 2), date(2026, 11, 1))


def test_a_later_reversal_counts_only_the_first_human_decision_after_the_outcome() -> None:
    later = item(
        5, at(3), "en",
        automatic=[automatic(5, "hidden", at(3, 1), "toxicity")],
        decisions=[human("approve", at(3, 0.5)), human("reject", at(3, 2)),
                   human("approve", at(3, 3))],
    )  # fmt: skip
    [row] = transparency_report([later], *NOVEMBER).accuracy
    assert (row.automatic, row.reversed) == (1, 0)  # the human confirmed it first


def test_json_csv_and_html_carry_the_same_figures() -> None:
    report_ = transparency_report(items(), *NOVEMBER)
    assert json.loads(to_json(report_))["appeals"]["reversed"] == 1
    rows = list(csv.reader(io.StringIO(to_csv(report_))))
    assert rows[0] == ["section", "key", "language", "value"]
    assert ["notices_by_source", "article_16", "", "1"] in rows
    assert ["median_hours", "notice_to_action", "", "7.0"] in rows
    assert ["automatic_reversed_share", "toxicity", "de", "0.0"] in rows
    assert len(rows) == len(csv_rows(report_)) + 1
    page = to_html(report_)
    assert page.startswith("<!doctype html>") and page.count("<svg") == 6
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert "Automatic outcomes reversed by a human" in page and "100.0 %" in page


def test_the_cli_writes_each_format(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    store = open_store(settings)
    for n, row in enumerate(items()):
        store.save(row, event_id=f"seed-{n}", expected_revision=0)
    store.close()
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    period = ["report", "transparency", "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main(period) == 0
    assert json.loads(capsys.readouterr().out)["notices"]["total"] == 4
    for fmt in ("csv", "html"):
        target = tmp_path / f"report.{fmt}"
        assert main([*period, "--format", fmt, "-o", str(target)]) == 0
        assert target.stat().st_size > 0
    assert "actions_by_automation,automated,,2" in (tmp_path / "report.csv").read_text()
    assert "<svg" in (tmp_path / "report.html").read_text()
    assert main(["report", "transparency", "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
    with pytest.raises(SystemExit):
        main(["report", "transparency", "--from", "November", "--to", "2026-11-01"])
