"""Submission rules shared by the ingest API and the platform adapters.

Batches are cut from a body, items validated into ``ContributionSubmitted`` events (all or
nothing), checked against what is stored (a version is immutable), and answered with status
URLs. The CLI's ``hemicycle ingest`` publishes the same events (``submission_event``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, ValidationError

from pipeline.api.models import (
    MAX_VERSION,
    ApiError,
    FieldError,
    ItemError,
    M,
    capped,
    item_error,
    json_type,
    refuse_batch,
    surrogate_path,
)
from pipeline.config import Settings
from pipeline.schemas import Contribution, ContributionSubmitted
from pipeline.schemas.ids import submission_event
from pipeline.schemas.keys import check_platform_name, split_key
from pipeline.schemas.queue import QueueItem
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


def validate_objects(
    items: Sequence[Any],
    model: type[M],
    what: str,
    *,
    check: Callable[[int, str | None, dict[str, Any]], ItemError | None] | None = None,
) -> tuple[list[tuple[int, M]], list[ItemError]]:
    """Each item validated as ``model`` with its index, and the refusals naming the item's ``id``
    (not an object, an unpaired UTF-16 surrogate, what ``check(index, id, item)`` refuses, an
    invalid field): the caller refuses a batch with any refusal."""
    valid: list[tuple[int, M]] = []
    refused: list[ItemError] = []
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            message = f"expected a {what} object, got {json_type(data)}"
            refused.append(ItemError(index=index, message=message))
            continue
        rid = data.get("id")
        rid = str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) else None
        bad = surrogate_path(data)
        if bad is not None:
            message = f"{bad}: contains an unpaired UTF-16 surrogate (not valid Unicode)"
            refused.append(ItemError(index=index, id=rid, message=message))
            continue
        refusal = check(index, rid, data) if check is not None else None
        if refusal is not None:
            refused.append(refusal)
            continue
        try:
            valid.append((index, model.model_validate(data)))
        except ValidationError as exc:
            refused.append(item_error(exc, index=index, item_id=rid))
    return valid, refused


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
