"""The ingest API: platforms submit contributions and read back what Hemicycle made of them.

``POST /v1/contributions`` (``Authorization: Bearer <key>``) takes one contribution object or
``{"contributions": [...]}`` (at most ``HEMICYCLE_API_MAX_BATCH``). Decisions:

* **all or nothing**: a batch is published only when every item is valid; otherwise 422 lists
  each failing item (``index``, ``id``, fields). A platform fixes and resends the whole batch,
  which is safe because publishing is idempotent (next point);
* **idempotent**: the event id is ``uuid5(platform, id, version)``, so resending a version
  publishes the same event id and downstream stages drop the repeat. A version is immutable:
  to change a contribution, send a higher ``version`` (a different text under a version already
  processed is refused with 409);
* **limits**: more items than ``api_max_batch`` → 413 ``batch_too_large``; a body larger than
  ``max_event_bytes * api_max_batch`` → 413 ``body_too_large``, refused from ``Content-Length``
  or while reading, before anything is parsed; versions above 2^53-1 → 422;
* ``platform`` may be omitted (the key's platform is filled in); another platform → 403.

The answer is 202 (accepted for processing): ``GET /v1/contributions/{id}`` shows the result
once the pipeline has processed it (404 until then).
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import authenticator, bearer_scheme
from pipeline.api.context import AppContext
from pipeline.api.models import (
    MAX_VERSION,
    ApiError,
    ApiRoute,
    FieldError,
    ItemError,
    capped,
    check_content_type,
    error_responses,
    inline_schema,
    item_error,
    json_body,
    json_type,
    one_or_many,
    parse_json,
    read_body,
    refuse_batch,
    surrogate_path,
)
from pipeline.config import Settings
from pipeline.schemas import Contribution, ContributionSubmitted
from pipeline.schemas.events import (
    LanguageResult,
    Score,
    SpamSignal,
    Translation,
    UnavailableTranslation,
)
from pipeline.schemas.ids import submission_event
from pipeline.schemas.keys import check_platform_name, contribution_key, split_key
from pipeline.schemas.queue import QueueItem, QueueState
from pipeline.store.base import QueueStore


def status_url(contribution_id: str) -> str:
    return "/v1/contributions/" + quote(contribution_id, safe=":@-._~!$'()*+,;=")


class AcceptedContribution(BaseModel):
    contribution_id: str = Field(description="`platform:id`, the id Hemicycle knows it by.")
    version: int
    event_id: uuid.UUID = Field(description="uuid5 of (platform, id, version): stable on resend.")
    status_url: str = Field(description="Where the result appears once processed.")
    status: Literal["published", "unchanged"] = Field(
        "published",
        description="`unchanged`: the text equals the stored version's, nothing was published "
        "(adapters only).",
    )


class Accepted(BaseModel):
    """202: every item was published durably (the bus acknowledged it) for processing."""

    accepted: list[AcceptedContribution]


def accepted(event: ContributionSubmitted) -> AcceptedContribution:
    return AcceptedContribution(
        contribution_id=event.contribution_id,
        version=event.contribution_version,
        event_id=event.event_id,
        status_url=status_url(event.contribution_id),
    )


def batch_items(data: Any, *, key: str, max_batch: int, what: str) -> list[Any]:
    """The items of a body: one object, or ``{key: [...]}`` with 1..``max_batch`` items."""
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "invalid_body",
            f"expected a JSON object (one {what}, or {{{key!r}: [...]}}), got {json_type(data)}",
        )
    if key not in data:
        return [data]
    extra = sorted(set(data) - {key})
    if extra:
        raise ApiError(
            422,
            "invalid_body",
            f"a batch is {{{key!r}: [...]}} only; unknown field(s): {', '.join(extra)[:200]}",
        )
    items = data[key]
    if not isinstance(items, list):
        raise ApiError(422, "invalid_body", f"{key}: expected an array, got {json_type(items)}")
    if not items:
        raise ApiError(422, "invalid_body", f"{key}: the batch is empty")
    if len(items) > max_batch:
        raise ApiError(
            413,
            "batch_too_large",
            f"{key}: {len(items)} items exceed the limit of {max_batch} per request "
            "(HEMICYCLE_API_MAX_BATCH); split the batch",
        )
    return items


def _refusal(index: int, item_id: str | None, field: str, reason: str, kind: str) -> ItemError:
    message = f"{field}: {reason}"
    return ItemError(
        index=index,
        id=item_id,
        message=message,
        fields=[FieldError(field=field, message=reason, type=kind)],
    )


def platform_name_error(name: str) -> str | None:
    """Why ``name`` (stripped) cannot be a platform name, or None."""
    try:
        check_platform_name(name.strip())
    except ValueError as exc:
        return str(exc)
    return None


def _item_event(
    index: int, data: dict[str, Any], platform: str, settings: Settings, producer: str
) -> ContributionSubmitted | ItemError:
    """One raw contribution → its event, or why not (``type: forbidden`` for another platform).

    Checks pydantic's lax mode would let through are made first: a boolean version, text that
    is not valid Unicode (lone surrogates cannot be serialised again) and versions a JSON
    client cannot represent exactly.
    """
    item_id = data.get("id") if isinstance(data.get("id"), str) else None
    given = data.get("platform")
    if given is None:
        data = {**data, "platform": platform}
    elif isinstance(given, str) and (bad_name := platform_name_error(given)) is not None:
        return _refusal(index, item_id, "platform", bad_name, "invalid_platform")
    elif isinstance(given, str) and given.strip() and given.strip() != platform:
        reason = f"{given[:200]!r} is not the API key's platform"
        return _refusal(index, item_id, "platform", reason, "forbidden")
    if isinstance(data.get("version"), bool):
        return _refusal(index, item_id, "version", "expected an integer, got boolean", "int_type")
    bad = surrogate_path(data)
    if bad is not None:
        reason = "contains an unpaired UTF-16 surrogate, which is not valid Unicode"
        return _refusal(index, item_id, bad, reason, "invalid_unicode")
    try:
        contribution = Contribution.model_validate(data, context=settings.validation_context)
        if contribution.version > MAX_VERSION:
            reason = f"larger than the limit of {MAX_VERSION} (2^53-1)"
            return _refusal(index, item_id, "version", reason, "too_large")
        return submission_event(contribution, producer=producer)
    except ValidationError as exc:
        return item_error(exc, index=index, item_id=item_id)


def build_events(
    items: Sequence[tuple[int, dict[str, Any]]],
    platform: str,
    settings: Settings,
    *,
    producer: str,
) -> list[ContributionSubmitted]:
    """Validate raw contributions (``(index, data)``) of ``platform``: all valid, or raise.

    403 when an item names another platform; 422 listing every invalid item otherwise, and
    when one ``(id, version)`` appears twice in the batch.
    """
    results = [_item_event(i, data, platform, settings, producer) for i, data in items]
    refused = [r for r in results if isinstance(r, ItemError)]
    refuse_batch(
        refused, platform=platform, acts="submits", what="item", error="invalid_contribution"
    )
    events = [r for r in results if isinstance(r, ContributionSubmitted)]
    seen: dict[tuple[str, int], int] = {}
    duplicates: list[ItemError] = []
    for (index, _), event in zip(items, events, strict=True):
        slot = (event.contribution_id, event.contribution_version)
        if slot in seen:
            reason = f"version {slot[1]} of {slot[0]} is already item {seen[slot]}"
            duplicates.append(_refusal(index, event.contribution.id, "id", reason, "duplicate"))
        else:
            seen[slot] = index
    if duplicates:
        raise ApiError(
            422,
            "duplicate_contribution",
            f"item {duplicates[0].index}: {duplicates[0].message}; send each version once",
            errors=capped(duplicates),
        )
    return events


def read_item(store: QueueStore, key: str) -> QueueItem | None:
    """``store.get(key)``; None for an item that no longer validates (one stored before platform
    names lost ':', see the README's migration note), so it is never answered or overwritten
    as another platform's."""
    try:
        return store.get(key)
    except ValidationError:
        return None


def stored_under_own_key(item: QueueItem, key: str) -> bool:
    """Whether ``item`` is the contribution ``key`` names (platform and id compared apart)."""
    return split_key(key) == (item.contribution.platform, item.contribution.id)


def stored_items(store: QueueStore, keys: Sequence[str]) -> dict[str, QueueItem]:
    """The stored items of ``keys``; an item stored under a key that is not its own is left out."""
    out: dict[str, QueueItem] = {}
    for key in dict.fromkeys(keys):
        item = read_item(store, key)
        if item is not None and stored_under_own_key(item, key):
            out[key] = item
    return out


def check_conflicts(
    events: Sequence[ContributionSubmitted], stored: dict[str, QueueItem], *, offset: int = 0
) -> None:
    """409 when a version already processed is resent with different content."""
    conflicts = []
    for index, event in enumerate(events):
        item = stored.get(event.contribution_id)
        if item is None or item.version != event.contribution_version:
            continue
        if item.contribution != event.contribution:
            conflicts.append(
                ItemError(
                    index=index + offset,
                    id=event.contribution.id,
                    message=f"version {item.version} of {event.contribution_id} was already "
                    f"submitted with different content; send version {item.version + 1}",
                    fields=[FieldError(field="version", message="already used", type="conflict")],
                )
            )
    if conflicts:
        raise ApiError(
            409,
            "version_conflict",
            f"item {conflicts[0].index}: {conflicts[0].message}; nothing was accepted",
            errors=capped(conflicts),
        )


# --- text helpers for adapters (Decidim rich text, Coral HTML bodies) -------------------------

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--")
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"tr", "table", "section", "article", "header", "footer", "hr", "dd", "dt", "figcaption"}
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def html_to_text(text: str) -> str:
    """Visible text of an HTML fragment: tags dropped (script/style with their content),
    entities decoded, block elements as line breaks, paragraphs separated by one blank line.
    Text without tags is returned unchanged."""
    if not looks_like_html(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (escaped): for answering a platform that sent HTML."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


# --- the results a platform reads back --------------------------------------------------------


class PlatformDecision(BaseModel):
    """A moderator's decision, as the platform sees it (moderator identities stay internal)."""

    decision: str
    at: AwareDatetime
    reason_code: str | None = None
    statement: str | None = None


class ContributionStatus(BaseModel):
    """What Hemicycle knows about a contribution (its newest processed version)."""

    contribution_id: str
    version: int = Field(description="The newest version processed so far.")
    state: QueueState
    priority: float
    language: LanguageResult | None = Field(description="Detected from the text.")
    translations: list[Translation]
    translations_unavailable: list[UnavailableTranslation]
    scores: list[Score]
    spam_score: float | None
    spam_signals: list[SpamSignal]
    cluster_id: str | None
    cluster_size: int
    toxicity_available: bool | None
    unavailable_reason: str | None
    reasons: list[str] = Field(description="Why the policy chose the state.")
    decisions: list[PlatformDecision]
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    contribution: Contribution


def contribution_status(item: QueueItem) -> ContributionStatus:
    return ContributionStatus(
        contribution_id=item.contribution_id,
        version=item.version,
        state=item.state,
        priority=item.priority,
        language=item.language,
        translations=item.translations,
        translations_unavailable=item.translations_unavailable,
        scores=item.scores,
        spam_score=item.spam_score,
        spam_signals=item.spam_signals,
        cluster_id=item.cluster_id,
        cluster_size=item.cluster_size,
        toxicity_available=item.toxicity_available,
        unavailable_reason=item.unavailable_reason,
        reasons=item.reasons,
        decisions=[
            PlatformDecision(
                decision=d.decision, at=d.at, reason_code=d.reason_code, statement=d.statement
            )
            for d in item.decisions
        ],
        submitted_at=item.submitted_at,
        updated_at=item.updated_at,
        contribution=item.contribution,
    )


def find_item(store: QueueStore, platform: str, given: str) -> QueueItem | None:
    """The platform's item named ``id`` or ``platform:id`` (never another platform's).

    The stored item's own ``contribution.platform`` and ``id`` are compared, not a key prefix.
    """
    ids = [given]
    if given.startswith(f"{platform}:"):
        ids.insert(0, split_key(given)[1])
    for contribution_id in ids:
        key = contribution_key(platform, contribution_id)
        item = read_item(store, key) if len(key) <= 200 else None
        if item is not None and stored_under_own_key(item, key):
            return item
    return None


def not_found(platform: str, given: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no contribution {given[:200]!r} of platform {platform!r} is known yet: if it was "
        "just submitted it may still be in flight through the pipeline; retry in a few seconds",
    )


# --- the router --------------------------------------------------------------------------------

_INGEST_SCHEMA = inline_schema(Contribution)
_INGEST_SCHEMA["required"] = [f for f in _INGEST_SCHEMA["required"] if f != "platform"]
_INGEST_SCHEMA["properties"]["platform"]["description"] = "Defaults to the API key's platform."
_INGEST_BODY = one_or_many(_INGEST_SCHEMA, "contributions")


def router(context: AppContext) -> APIRouter:
    """``POST /v1/contributions`` and ``GET /v1/contributions/{id}`` over ``context``."""
    settings = context.settings
    api = APIRouter(
        prefix="/v1",
        tags=["contributions"],
        route_class=ApiRoute,
        dependencies=[Depends(bearer_scheme)],
    )
    require_platform = authenticator(context)
    body_limit = settings.max_event_bytes * settings.api_max_batch

    def ingest(items: list[Any], platform: str) -> Accepted:
        shaped: list[tuple[int, dict[str, Any]]] = []
        not_objects: list[ItemError] = []
        for index, data in enumerate(items):
            if isinstance(data, dict):
                shaped.append((index, data))
            else:
                message = f"expected a contribution object, got {json_type(data)}"
                not_objects.append(ItemError(index=index, message=message))
        if not_objects:
            raise ApiError(
                422,
                "invalid_contribution",
                f"item {not_objects[0].index}: {not_objects[0].message}; nothing was accepted",
                errors=capped(not_objects),
            )
        events = build_events(shaped, platform, settings, producer="api")
        stored = stored_items(context.store, [e.contribution_id for e in events])
        check_conflicts(events, stored)
        context.publish(events)
        return Accepted(accepted=[accepted(event) for event in events])

    @api.post(
        "/contributions",
        status_code=202,
        response_model=Accepted,
        summary="Submit contributions for moderation and translation",
        description=(
            'One contribution object, or `{"contributions": [...]}` (at most '
            f"`HEMICYCLE_API_MAX_BATCH`, {settings.api_max_batch} here). All or nothing: an "
            "invalid item refuses the batch (422 names each item and field). Resending a "
            "version is safe (same event id). `platform` defaults to the key's platform."
        ),
        responses=error_responses(400, 401, 403, 409, 413, 415, 422, 503),
        openapi_extra=json_body(_INGEST_BODY, "One contribution, or a batch of them."),
    )
    async def submit(
        request: Request,
    ) -> Accepted:
        platform = await run_in_threadpool(require_platform, request)
        check_content_type(request)
        data = parse_json(await read_body(request, body_limit))
        items = batch_items(
            data, key="contributions", max_batch=settings.api_max_batch, what="contribution"
        )
        return await run_in_threadpool(ingest, items, platform)

    @api.get(
        "/contributions/{contribution_id:path}",
        response_model=ContributionStatus,
        summary="What Hemicycle made of a contribution",
        description=(
            "Language, translations, scores, spam signals, state, reasons and decisions of the "
            "newest processed version. `contribution_id` is the platform's `id` or "
            "`platform:id`; only the key's platform's contributions are visible."
        ),
        responses=error_responses(401, 404, 503),
    )
    def get_contribution(contribution_id: str, request: Request) -> ContributionStatus:
        platform = require_platform(request)
        item = find_item(context.store, platform, contribution_id)
        if item is None:
            raise not_found(platform, contribution_id)
        return contribution_status(item)

    return api
