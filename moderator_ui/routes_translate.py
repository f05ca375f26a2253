"""The translator workspace: review machine translations, correct them, export TMX."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from moderator_ui.security import Session, client_address, require
from moderator_ui.web import LANGUAGE_NAMES, render, services, writer

router = APIRouter()
Translator = Annotated[Session, Depends(require("translator"))]
TranslatorWrite = Annotated[Session, Depends(writer("translator"))]


def _language(request: Request, session: Session, lang: str | None) -> str:
    code = (lang or session.user.language).lower()
    if code not in services(request).settings.target_languages:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{code!r} is not a target language")
    return code


@router.get("/translate", response_class=HTMLResponse)
def translate_list(
    request: Request,
    session: Translator,
    lang: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    svc = services(request)
    code = _language(request, session, lang)
    if q:
        wanted = q.strip()
        item = svc.store.get(wanted)
        items = [item] if item is not None else []
    else:
        items = svc.workspace.to_review(code, offset=(max(1, page) - 1) * 50, limit=50)
    rows = [(item, svc.workspace.pairs(item, code)) for item in items]
    return render(
        request,
        "translate_list.html",
        session,
        lang=code,
        rows=rows,
        q=q or "",
        page=max(1, page),
        languages={c: LANGUAGE_NAMES.get(c, c) for c in svc.settings.target_languages},
    )


@router.get("/translate/item/{cid:path}", response_class=HTMLResponse)
def translate_item(
    request: Request, cid: str, session: Translator, lang: str | None = None
) -> HTMLResponse:
    svc = services(request)
    code = _language(request, session, lang)
    item = svc.store.get(cid)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contribution {cid}")
    return render(
        request,
        "translate_edit.html",
        session,
        item=item,
        lang=code,
        pairs=svc.workspace.pairs(item, code),
    )


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cid: str = Field(min_length=1, max_length=500)
    field: Literal["title", "body"]
    lang: str = Field(min_length=2, max_length=10)
    text: str = Field(max_length=200_000, description="Empty is refused in words.")
    idempotency_key: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,100}$", description="Made by the page once per action."
    )


@router.post("/api/translations")
def correct(body: CorrectionIn, request: Request, session: TranslatorWrite) -> JSONResponse:
    svc = services(request)
    code = _language(request, session, body.lang)
    item = svc.store.get(body.cid)
    if item is None:
        return JSONResponse({"detail": f"no contribution {body.cid}"}, status.HTTP_404_NOT_FOUND)
    try:
        event = svc.workspace.correct(
            item,
            body.field,
            code,
            body.text,
            session.user.name,
            address=client_address(request),
            idempotency_key=body.idempotency_key,
        )
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"event_id": str(event.event_id), "origin": "human", "text": event.text})


@router.get("/translate/export.tmx")
def export_tmx(request: Request, session: Translator, lang: str | None = None) -> StreamingResponse:
    svc = services(request)
    code = _language(request, session, lang) if lang else None
    svc.audit.record(session.user.name, "export", detail=f"TMX {code or 'all languages'}")
    name = f"hemicycle-corrections-{code or 'all'}.tmx"
    return StreamingResponse(
        svc.workspace.tmx(code),
        media_type="application/x-tmx+xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
