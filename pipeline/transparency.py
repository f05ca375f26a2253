"""Transparency figures (DSA Art. 15 and 24) for a period: a pure function of the queue items.

What is counted, for the days ``start``..``end`` (inclusive, UTC):

* **notices**: people's reports made in the period, by reason and by source
  (``article_16``: an illegal-content notice, ``trusted_flagger``: one from a trusted flagger,
  ``other``: every other report);
* **actions**: restrictions decided in the period (every statement of reasons, superseded
  ones included: they were actions), by category, by restriction and by automation
  (``automated``: decided fully automatically; ``human``: a person decided, with or without
  automated detection);
* **median hours** from submission (the contribution's ``created_at``) to action, and from
  notice (the item's first report made before the action) to action;
* **appeals** filed in the period, and how many of them were upheld, reversed or are pending;
* **accuracy** per automated rule and language: of the automatic outcomes reached in the
  period (approved, hidden, rejected), the share a human later reversed: the first human
  decision on that version after the outcome went the other way (approve after hidden or
  rejected; reject after approved). These are the "indicators of accuracy" of Art. 15(1)(e).

Formats: :func:`to_json`, :func:`to_csv` (``section,key,language,value`` rows) and
:func:`to_html` (a page with inline SVG bar charts, nothing loaded from elsewhere);
:func:`html_fragment` is the same without the page around it (the moderator UI's admin page).
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from pipeline.schemas.queue import AutomaticOutcome, QueueItem

RESTRICTIVE_OUTCOMES = frozenset({"hidden", "rejected"})
AUTOMATIC_DECISIONS = frozenset({"approved", "hidden", "rejected"})
UNKNOWN_LANGUAGE = "und"


class Notices(BaseModel):
    total: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    by_source: dict[str, int] = Field(default_factory=dict)


class Actions(BaseModel):
    total: int = 0
    by_category: dict[str, int] = Field(default_factory=dict)
    by_restriction: dict[str, int] = Field(default_factory=dict)
    by_automation: dict[str, int] = Field(default_factory=dict)


class MedianHours(BaseModel):
    submission_to_action: float | None = None
    notice_to_action: float | None = None


class Appeals(BaseModel):
    received: int = 0
    upheld: int = 0
    reversed: int = 0
    pending: int = 0


class Accuracy(BaseModel):
    """Automatic outcomes of one rule in one language, and how many a human reversed."""

    rule: str
    language: str
    automatic: int
    reversed: int
    reversed_share: float


class TransparencyReport(BaseModel):
    start: date = Field(description="First day counted (UTC).")
    end: date = Field(description="Last day counted (UTC), inclusive.")
    notices: Notices
    actions: Actions
    median_hours: MedianHours
    appeals: Appeals
    accuracy: list[Accuracy]


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in UTC."""
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _sorted(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, then by name: a stable order for every format."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _reversed(item: QueueItem, outcome: AutomaticOutcome) -> bool:
    """Whether the first human decision on the outcome's version after it went the other way."""
    for decision in item.decisions:
        version = decision.version if decision.version is not None else item.version
        if version != outcome.version or decision.at <= outcome.at:
            continue
        if decision.decision == "escalate":
            continue
        if outcome.outcome in RESTRICTIVE_OUTCOMES:
            return decision.decision == "approve"
        return decision.decision == "reject"
    return False


def transparency_report(items: Iterable[QueueItem], start: date, end: date) -> TransparencyReport:
    """The figures of the days ``start``..``end`` (inclusive) over ``items``."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    low, high = _window(start, end)
    reasons: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    restrictions: Counter[str] = Counter()
    automation: Counter[str] = Counter()
    from_submission: list[float] = []
    from_notice: list[float] = []
    appeals = Appeals()
    automatic: Counter[tuple[str, str]] = Counter()
    reversed_: Counter[tuple[str, str]] = Counter()
    for item in items:
        for report in item.reports:
            if low <= report.at < high:
                reasons[report.reason] += 1
                if report.notice is None:
                    sources["other"] += 1
                elif report.notice.trusted_flagger:
                    sources["trusted_flagger"] += 1
                else:
                    sources["article_16"] += 1
        for statement in item.statements:
            if not low <= statement.decided_at < high:
                continue
            categories[statement.category] += 1
            restrictions[statement.restriction] += 1
            automated = statement.automated_decision == "fully"
            automation["automated" if automated else "human"] += 1
            from_submission.append(_hours(statement.decided_at - item.contribution.created_at))
            notices = [r.at for r in item.reports if r.at <= statement.decided_at]
            if notices:
                from_notice.append(_hours(statement.decided_at - min(notices)))
        for appeal in item.appeals:
            if low <= appeal.at < high:
                appeals.received += 1
                if appeal.result == "upheld":
                    appeals.upheld += 1
                elif appeal.result == "reversed":
                    appeals.reversed += 1
                else:
                    appeals.pending += 1
        language = item.language_code or UNKNOWN_LANGUAGE
        for outcome in item.automatic:
            if outcome.outcome not in AUTOMATIC_DECISIONS or not low <= outcome.at < high:
                continue
            automatic[(outcome.rule, language)] += 1
            if _reversed(item, outcome):
                reversed_[(outcome.rule, language)] += 1
    accuracy = [
        Accuracy(
            rule=rule,
            language=language,
            automatic=count,
            reversed=reversed_[(rule, language)],
            reversed_share=round(reversed_[(rule, language)] / count, 4),
        )
        for (rule, language), count in sorted(automatic.items())
    ]
    return TransparencyReport(
        start=start,
        end=end,
        notices=Notices(
            total=sum(reasons.values()), by_reason=_sorted(reasons), by_source=_sorted(sources)
        ),
        actions=Actions(
            total=sum(categories.values()),
            by_category=_sorted(categories),
            by_restriction=_sorted(restrictions),
            by_automation=_sorted(automation),
        ),
        median_hours=MedianHours(
            submission_to_action=_median(from_submission), notice_to_action=_median(from_notice)
        ),
        appeals=appeals,
        accuracy=accuracy,
    )


# --- formats ------------------------------------------------------------------------------------


def to_json(report: TransparencyReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def csv_rows(report: TransparencyReport) -> list[tuple[str, str, str, str]]:
    """``(section, key, language, value)`` rows, every figure once."""
    rows: list[tuple[str, str, str, str]] = [
        ("period", "start", "", report.start.isoformat()),
        ("period", "end", "", report.end.isoformat()),
        ("notices", "total", "", str(report.notices.total)),
    ]
    rows += [("notices_by_reason", k, "", str(v)) for k, v in report.notices.by_reason.items()]
    rows += [("notices_by_source", k, "", str(v)) for k, v in report.notices.by_source.items()]
    rows.append(("actions", "total", "", str(report.actions.total)))
    actions = report.actions
    rows += [("actions_by_category", k, "", str(v)) for k, v in actions.by_category.items()]
    rows += [("actions_by_restriction", k, "", str(v)) for k, v in actions.by_restriction.items()]
    rows += [("actions_by_automation", k, "", str(v)) for k, v in actions.by_automation.items()]
    for key, value in report.median_hours.model_dump().items():
        rows.append(("median_hours", key, "", "" if value is None else str(value)))
    rows += [("appeals", k, "", str(v)) for k, v in report.appeals.model_dump().items()]
    for row in report.accuracy:
        rows.append(("automatic_outcomes", row.rule, row.language, str(row.automatic)))
        rows.append(("automatic_reversed", row.rule, row.language, str(row.reversed)))
        rows.append(("automatic_reversed_share", row.rule, row.language, str(row.reversed_share)))
    return rows


def to_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "language", "value"))
    writer.writerows(csv_rows(report))
    return out.getvalue()


_BAR = "#3b6ea5"
_ROW, _LABEL_W, _BAR_W, _VALUE_W = 22, 200, 320, 70


def bar_chart(title: str, data: list[tuple[str, float]], *, percent: bool = False) -> str:
    """A horizontal bar chart as inline SVG (presentation attributes only: no CSS needed)."""
    esc = html.escape
    if not data:
        return f'<figure class="chart"><figcaption>{esc(title)}</figcaption><p>None.</p></figure>'
    scale = 1.0 if percent else max(value for _, value in data) or 1
    width = _LABEL_W + _BAR_W + _VALUE_W
    height = _ROW * len(data) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title, quote=True)}">'
    ]
    for i, (label, value) in enumerate(data):
        y = 4 + i * _ROW
        length = _BAR_W * value / scale
        shown = f"{value * 100:.1f} %" if percent else f"{value:g}"
        parts.append(
            f'<text x="{_LABEL_W - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#222">{esc(label)}</text>'
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{length:.1f}" height="{_ROW - 6}" '
            f'fill="{_BAR}"><title>{esc(label)}: {esc(shown)}</title></rect>'
            f'<text x="{_LABEL_W + length + 6:.1f}" y="{y + 15}" font-size="12" '
            f'fill="#222">{esc(shown)}</text>'
        )
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{esc(title)}</figcaption>{"".join(parts)}</figure>'


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_fragment(report: TransparencyReport) -> str:
    """The figures and their charts, without a page around them."""
    hours = report.median_hours

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:g} h"

    accuracy = [
        (f"{a.rule} ({a.language})", a.reversed_share) for a in report.accuracy if a.automatic
    ]
    summary = _table(
        ("figure", "value"),
        [
            ("notices received", report.notices.total),
            ("actions taken", report.actions.total),
            ("median time, submission to action", shown(hours.submission_to_action)),
            ("median time, notice to action", shown(hours.notice_to_action)),
            ("appeals received", report.appeals.received),
            ("appeals upheld", report.appeals.upheld),
            ("appeals reversed", report.appeals.reversed),
            ("appeals pending", report.appeals.pending),
        ],
    )
    sections = [
        f'<section class="transparency-summary">{summary}</section>',
        bar_chart("Notices by reason", list(report.notices.by_reason.items())),
        bar_chart("Notices by source", list(report.notices.by_source.items())),
        bar_chart("Actions by category", list(report.actions.by_category.items())),
        bar_chart("Actions: automated or human", list(report.actions.by_automation.items())),
        bar_chart(
            "Appeals",
            [
                ("upheld", report.appeals.upheld),
                ("reversed", report.appeals.reversed),
                ("pending", report.appeals.pending),
            ],
        ),
        bar_chart("Automatic outcomes reversed by a human", accuracy, percent=True),
        "<section><h2>Accuracy of automated decisions</h2>"
        + _table(
            ("rule", "language", "automatic outcomes", "reversed by a human", "share"),
            [
                (a.rule, a.language, a.automatic, a.reversed, f"{a.reversed_share * 100:.1f} %")
                for a in report.accuracy
            ],
        )
        + "</section>",
    ]
    return '<div class="transparency">' + "".join(sections) + "</div>"


_PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
    "figure.chart{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}"
)


def to_html(report: TransparencyReport) -> str:
    """A self-contained page (inline style and SVG, nothing fetched)."""
    title = f"Transparency report {report.start.isoformat()} to {report.end.isoformat()}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_PAGE_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{html_fragment(report)}</body></html>\n"
    )


FORMATS = {"json": to_json, "csv": to_csv, "html": to_html}
