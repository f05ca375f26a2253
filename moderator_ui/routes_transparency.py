"""Admin page: the transparency figures of a period (:mod:`pipeline.transparency`), with the
same charts as ``hemicycle report transparency --format html`` and JSON/CSV downloads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from moderator_ui.security import Session, require
from moderator_ui.web import render, services
from pipeline.transparency import html_fragment, to_csv, to_json, transparency_report

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]
_MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


def _day(value: str | None, default: date, name: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"{name}: {value[:40]!r} is not a day (YYYY-MM-DD)"
        ) from None


@router.get("/admin/transparency", response_model=None)
def transparency_page(
    request: Request,
    session: Admin,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    format: Literal["html", "json", "csv"] = "html",
) -> Response:
    """The figures from ``from`` to ``to`` (default: this year so far, UTC)."""
    today = datetime.now(UTC).date()
    first = _day(start, today.replace(month=1, day=1), "from")
    last = _day(end, today, "to")
    if last < first:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"to ({last}) is before from ({first})")
    svc = services(request)
    report = transparency_report(svc.store.iter_items(), first, last)
    if format != "html":
        svc.audit.record(session.user.name, "export", detail=f"transparency report {format}")
        body = to_json(report) if format == "json" else to_csv(report)
        name = f"hemicycle-transparency-{first}-{last}.{format}"
        return Response(
            body,
            media_type=_MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    page: HTMLResponse = render(
        request,
        "transparency.html",
        session,
        start=first,
        end=last,
        figures=html_fragment(report),
    )
    return page
