"""The Decidim adapter: Decidim resources in, Decidim-shaped machine translations out.

Endpoints (API-key auth like the ingest API; the key's platform names the Decidim instance):

* ``POST /v1/decidim/resources``: proposals, comments and debates with Decidim's i18n fields
  (``{"en": "…", "machine_translations": {…}}``, or a plain string as the GraphQL API gives
  comment bodies) become contributions ``<platform>:<resource_type>-<id>``. Of several original
  locales the one named by ``locale`` is taken, else the first non-empty one; ``locale`` is only
  a hint, the language is detected from the text. Rich-text (HTML) bodies are reduced to their
  text. A version whose title and body equal the stored version's is not published again
  (``status: unchanged``): Decidim bumps versions for state changes that do not touch the text.
* ``GET /v1/decidim/resources/{resource_type}/{id}/translations``: the translations in the
  shape Decidim stores (``{"<orig>": "…", "machine_translations": {"es": "…"}}``).
* ``POST /v1/decidim/translate``: for a ``machine_translation_service`` class, one field into
  one locale: ``done`` with the text when it is known, ``pending`` (202) after making sure the
  resource is submitted, ``unavailable`` when it will not come (no model, not a target
  language, language not identified).

See docs/decidim.md for the Ruby side.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from pipeline.api.apikeys import keyed_router
from pipeline.api.context import AppContext
from pipeline.api.html import html_to_text, looks_like_html, text_to_html
from pipeline.api.models import (
    MAX_VERSION,
    ApiError,
    capped,
    error_responses,
    inline_schema,
    json_body,
    json_type,
    keyed_body,
    one_or_many,
    parse_json,
    parse_request,
)
from pipeline.api.submission import (
    Accepted,
    AcceptedContribution,
    accepted,
    batch_items,
    build_events,
    check_conflicts,
    read_item,
    status_url,
    stored_items,
    validate_objects,
)
from pipeline.schemas.contribution import Identifier
from pipeline.schemas.ids import submission_event_id
from pipeline.schemas.keys import contribution_key
from pipeline.schemas.queue import QueueItem

ResourceType = Literal["proposal", "comment", "debate"]
_CLASS_NAMES = {
    "decidim::proposals::proposal": "proposal",
    "decidim::comments::comment": "comment",
    "decidim::debates::debate": "debate",
}
MACHINE = "machine_translations"
# Decidim field name → contribution field.
FIELDS: dict[str, Literal["title", "body"]] = {
    "title": "title",
    "body": "body",
    "description": "body",
}
# Decidim's translatable fields of each resource type.
FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "proposal": ("title", "body"),
    "comment": ("body",),
    "debate": ("title", "description"),
}


def _resource_type(value: Any) -> Any:
    """``proposal``, or Decidim's class name (``Decidim::Proposals::Proposal``)."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        return _CLASS_NAMES.get(lowered, lowered)
    return value


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Locale = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=35, pattern=r"^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{1,8})*$"
    ),
]
DecidimId = Annotated[
    str,
    BeforeValidator(_id_text),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
]
DecidimType = Annotated[ResourceType, BeforeValidator(_resource_type)]
_LOCALE_KEY = re.compile(r"^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{1,8})*$")


def decidim_contribution_id(resource_type: str, rid: str) -> str:
    """The contribution id of a Decidim resource within its platform: ``proposal-123``."""
    return f"{resource_type}-{rid}"


def _check_i18n(value: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(value, str):
        return value
    for key, inner in value.items():
        if key == MACHINE:
            if inner is not None and not isinstance(inner, dict):
                raise ValueError(f"{MACHINE}: expected an object, got {json_type(inner)}")
            for locale, text in (inner or {}).items():
                if not _LOCALE_KEY.match(locale) or not (text is None or isinstance(text, str)):
                    raise ValueError(f"{MACHINE}.{locale[:40]}: expected a locale and a string")
        elif not _LOCALE_KEY.match(key):
            raise ValueError(f"{key[:40]!r} is not a locale (e.g. en, pt-BR)")
        elif inner is not None and not isinstance(inner, str):
            raise ValueError(f"{key}: expected a string, got {json_type(inner)}")
    return value


I18nField = Annotated[str | dict[str, Any], AfterValidator(_check_i18n)]


def original_text(field: str | dict[str, Any] | None, locale: str | None) -> tuple[str, str | None]:
    """The original text of an i18n field and its locale key (machine translations ignored).

    Of several original locales: ``locale`` if it has text, else the first non-empty one.
    """
    if field is None:
        return "", None
    if isinstance(field, str):
        return field, None
    originals = {
        key: text
        for key, text in field.items()
        if key != MACHINE and isinstance(text, str) and text.strip()
    }
    if locale is not None:
        for key, text in originals.items():
            if key.lower() == locale.lower():
                return text, key
    for key, text in originals.items():
        return text, key
    return "", None


class DecidimResource(BaseModel):
    """A Decidim proposal, comment or debate as the adapter receives it."""

    model_config = ConfigDict(extra="forbid")

    resource_type: DecidimType = Field(
        description="proposal, comment or debate (Decidim class names are accepted too)."
    )
    id: DecidimId = Field(description="Decidim's id (number or string).")
    version: int = Field(
        1,
        ge=1,
        le=MAX_VERSION,
        description="Increase on every edit, e.g. `resource.versions.count`.",
    )
    space: Identifier = Field(description="The participatory space, e.g. `process-7`.")
    author: Identifier | None = Field(
        None, description="Pseudonymous author id; null (official, deleted) → `anonymous`."
    )
    created_at: AwareDatetime
    locale: Locale | None = Field(
        None, description="The UI locale: which original to take, and a hint for detection."
    )
    title: I18nField | None = None
    body: I18nField | None = Field(None, description="Proposal and comment body.")
    description: I18nField | None = Field(None, description="Debate description (its body).")
    parent_id: Identifier | None = Field(None, description="E.g. `proposal-12` for a comment.")
    url: Annotated[str, StringConstraints(max_length=2_000)] | None = None

    @model_validator(mode="after")
    def _one_body(self) -> DecidimResource:
        if self.body is not None and self.description is not None:
            raise ValueError("send either body or description (debates), not both")
        return self

    @property
    def contribution_id(self) -> str:
        """The contribution id within the platform: ``proposal-123``."""
        return decidim_contribution_id(self.resource_type, self.id)

    def contribution_data(self, platform: str) -> dict[str, Any]:
        """Raw contribution fields (validated by the caller)."""
        title, _ = original_text(self.title, self.locale)
        body, body_locale = original_text(
            self.body if self.body is not None else self.description, self.locale
        )
        return {
            "id": self.contribution_id,
            "version": self.version,
            "platform": platform,
            "space": self.space,
            "kind": self.resource_type,
            "author": self.author or "anonymous",
            "title": html_to_text(title) or None,
            "body": html_to_text(body),
            "created_at": self.created_at,
            "locale_hint": self.locale or body_locale,
            "parent_id": self.parent_id,
            "url": self.url,
        }


class TranslateRequest(BaseModel):
    """What a Decidim ``machine_translation_service`` knows, plus (optionally) the resource."""

    model_config = ConfigDict(extra="forbid")

    resource_type: DecidimType
    resource_id: DecidimId
    field_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
    text: str
    target_locale: Locale
    source_locale: Locale | None = None
    resource: DecidimResource | None = Field(
        None,
        description="The whole resource (as for /v1/decidim/resources): submitted with its own "
        "version when the text is new. Without it a minimal contribution is submitted.",
    )


class TranslateResponse(BaseModel):
    status: Literal["done", "pending", "unavailable"]
    translated_text: str | None = None
    detected_language: str | None = None
    reason: str | None = None


class DecidimTranslations(BaseModel):
    """Translations in Decidim's stored shape, one entry per translated field."""

    resource_type: ResourceType
    id: str
    version: int
    detected_language: str | None
    title: dict[str, str | dict[str, str]] | None = None
    body: dict[str, str | dict[str, str]] | None = None
    description: dict[str, str | dict[str, str]] | None = None
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="Target language → why it has no translation."
    )


def language_of(locale: str) -> str:
    """Decidim locale → ISO 639-1 language (``pt-BR`` → ``pt``)."""
    return re.split(r"[-_]", locale, maxsplit=1)[0].lower()


def _same_text(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def _matching_field(item: QueueItem, field: str, text: str) -> Literal["title", "body"] | None:
    """Which stored field holds ``text`` (the named one first)."""
    order: list[Literal["title", "body"]] = ["title", "body"]
    if field != "title":
        order.reverse()
    for name in order:
        value = getattr(item.contribution, name)
        if value and _same_text(value, text):
            return name
    return None


def translations_of(item: QueueItem, resource_type: ResourceType, rid: str) -> DecidimTranslations:
    lang = item.language_code
    c = item.contribution
    original = lang or (language_of(c.locale_hint) if c.locale_hint else "und")
    fields: dict[str, Any] = {}
    for name, text in (("title", c.title), ("body", c.body)):
        if not text:
            continue
        machine = {
            t.target_language: t.text
            for t in item.translations
            if t.field == name and t.target_language != original
        }
        key = "description" if name == "body" and resource_type == "debate" else name
        fields[key] = {original: text, MACHINE: machine}
    return DecidimTranslations(
        resource_type=resource_type,
        id=rid,
        version=item.version,
        detected_language=lang,
        unavailable={u.target_language: u.reason for u in item.translations_unavailable},
        **fields,
    )


_RESOURCES_BODY = one_or_many(inline_schema(DecidimResource), "resources")


def publish_resources(
    context: AppContext, resources: list[tuple[int, DecidimResource]], platform: str
) -> list[AcceptedContribution]:
    """Publish the resources whose text is new; a resource whose text is unchanged keeps its
    stored version (answered ``unchanged``)."""
    events = build_events(
        [(index, r.contribution_data(platform)) for index, r in resources],
        platform,
        context.settings,
        producer="decidim",
    )
    stored = stored_items(context.store, [e.contribution_id for e in events])
    check_conflicts(events, stored)
    out: list[AcceptedContribution] = []
    fresh = []
    for event in events:
        item = stored.get(event.contribution_id)
        c = event.contribution
        if (
            item is not None
            and item.version < c.version
            and _same_text(item.contribution.title, c.title)
            and _same_text(item.contribution.body, c.body)
        ):
            out.append(
                AcceptedContribution(
                    contribution_id=c.key,
                    version=item.version,
                    event_id=submission_event_id(c.platform, c.id, item.version),
                    status_url=status_url(c.key),
                    status="unchanged",
                )
            )
        else:
            fresh.append(event)
            out.append(accepted(event))
    context.publish(fresh)
    return out


def accept_resources(context: AppContext, items: list[Any], platform: str) -> Accepted:
    """Validate a batch of resources (all or nothing) and publish it."""
    resources, invalid = validate_objects(items, DecidimResource, "resource")
    if invalid:
        raise ApiError(
            422,
            "invalid_resource",
            f"item {invalid[0].index}: {invalid[0].message}; nothing was accepted",
            errors=capped(invalid),
        )
    return Accepted(accepted=publish_resources(context, resources, platform))


def translate(
    context: AppContext, request: TranslateRequest, platform: str
) -> tuple[int, TranslateResponse]:
    """The answer to one translate request, submitting the resource when it is not known yet."""
    settings = context.settings
    field = FIELDS.get(request.field_name)
    if field is None:
        raise ApiError(
            422,
            "unsupported_field",
            f"field_name {request.field_name[:100]!r} is not translated by Hemicycle "
            f"(supported: {', '.join(FIELDS)})",
        )
    if request.resource is not None and (
        request.resource.resource_type,
        request.resource.id,
    ) != (request.resource_type, request.resource_id):
        raise ApiError(
            422,
            "invalid_request",
            "resource.resource_type/resource.id disagree with resource_type/resource_id",
        )
    target = language_of(request.target_locale)
    if target not in settings.target_languages:
        return 200, TranslateResponse(
            status="unavailable",
            reason=f"{target} is not a configured target language (HEMICYCLE_TARGET_LANGUAGES)",
        )
    as_html = looks_like_html(request.text)
    text = html_to_text(request.text)
    if not text.strip():
        return 200, TranslateResponse(status="done", translated_text=request.text)
    if len(text) > settings.max_body_chars:
        raise ApiError(
            422,
            "invalid_request",
            f"text: {len(text)} characters exceed the limit of {settings.max_body_chars}",
        )
    rid = decidim_contribution_id(request.resource_type, request.resource_id)
    key = contribution_key(platform, rid)
    if len(key) > 200:
        raise ApiError(422, "invalid_request", "resource_id: too long for a contribution id")
    item = read_item(context.store, key)
    if item is not None and item.contribution.platform != platform:
        item = None
    matched = _matching_field(item, field, text) if item is not None else None
    if item is not None and matched is not None:
        return _answer(item, matched, target, request.text, as_html)
    if request.resource is not None:
        resource = request.resource
        if item is not None and resource.version <= item.version:
            # The text changed but the version did not (a resource without PaperTrail
            # versions): the next version, rather than a conflict nobody would resolve.
            resource = resource.model_copy(update={"version": item.version + 1})
        publish_resources(context, [(0, resource)], platform)
    else:
        publish_minimal(context, item, request, field, text, platform)
    return 202, TranslateResponse(status="pending")


def publish_minimal(
    context: AppContext,
    item: QueueItem | None,
    request: TranslateRequest,
    field: Literal["title", "body"],
    text: str,
    platform: str,
) -> None:
    """Without the resource: a new version of what is stored with this field replaced, or
    a contribution holding just this text."""
    if item is None:
        data: dict[str, Any] = {
            "id": decidim_contribution_id(request.resource_type, request.resource_id),
            "version": 1,
            "platform": platform,
            "space": "unknown",
            "kind": request.resource_type,
            "author": "anonymous",
            "body": text,
            "created_at": datetime.now(UTC),
            "locale_hint": request.source_locale,
        }
    else:
        data = item.contribution.model_dump()
        data[field] = text
        data["version"] = item.version + 1
    events = build_events([(0, data)], platform, context.settings, producer="decidim")
    context.publish(events)


def stored_translations(
    context: AppContext, platform: str, resource_type: str, rid: str
) -> DecidimTranslations:
    """The translations of the platform's resource, 404 while it is not stored."""
    kind = _resource_type(resource_type)
    if kind not in FIELDS_BY_TYPE:
        raise ApiError(
            422,
            "invalid_resource_type",
            f"resource_type must be proposal, comment or debate, got {resource_type[:50]!r}",
        )
    key = contribution_key(platform, decidim_contribution_id(kind, rid))
    item = read_item(context.store, key) if len(key) <= 200 else None
    if item is None or item.contribution.platform != platform:
        raise ApiError(
            404,
            "not_found",
            f"{kind} {rid[:100]!r} of platform {platform!r} is not known yet: if it "
            "was just submitted it may still be in flight; retry in a few seconds",
        )
    return translations_of(item, kind, rid)


def router(context: AppContext) -> APIRouter:
    settings = context.settings
    api, require_platform = keyed_router(context, "/v1/decidim", "decidim")
    body_limit = settings.max_event_bytes * settings.api_max_batch

    @api.post(
        "/resources",
        status_code=202,
        response_model=Accepted,
        summary="Submit Decidim proposals, comments and debates",
        description=(
            'One resource or `{"resources": [...]}`; i18n fields as Decidim stores them '
            "(machine_translations are ignored: send only the originals to save bandwidth). "
            "All or nothing, like `POST /v1/contributions`."
        ),
        responses=error_responses(400, 401, 409, 413, 415, 422, 503),
        openapi_extra=json_body(_RESOURCES_BODY, "One resource, or a batch of them."),
    )
    async def submit_resources(
        request: Request,
    ) -> Accepted:
        platform, raw = await keyed_body(request, require_platform, body_limit)
        data = parse_json(raw)
        items = batch_items(
            data, key="resources", max_batch=settings.api_max_batch, what="Decidim resource"
        )
        return await run_in_threadpool(accept_resources, context, items, platform)

    @api.get(
        "/resources/{resource_type}/{resource_id}/translations",
        response_model=DecidimTranslations,
        response_model_exclude_none=True,
        summary="Translations of a resource, in Decidim's machine_translations shape",
        responses=error_responses(401, 404, 422, 503),
    )
    def get_translations(
        resource_type: str, resource_id: str, request: Request
    ) -> DecidimTranslations:
        platform = require_platform(request)
        return stored_translations(context, platform, resource_type, resource_id)

    @api.post(
        "/translate",
        response_model=TranslateResponse,
        response_model_exclude_none=True,
        summary="One field into one locale, for a Decidim machine_translation_service",
        description=(
            "200 `done` with `translated_text` when the translation is known (HTML paragraphs "
            "when the text was HTML); 202 `pending` after making sure the resource is "
            "submitted: ask again later or wait for the webhook; 200 `unavailable` with a "
            "`reason` when no translation will come."
        ),
        responses={
            202: {"model": TranslateResponse, "description": "Pending: submitted, ask later."},
            **error_responses(400, 401, 413, 415, 422, 503),
        },
        openapi_extra=json_body(inline_schema(TranslateRequest), "The field to translate."),
    )
    async def translate_field(
        request: Request,
    ) -> JSONResponse:
        platform, raw = await keyed_body(request, require_platform, 2 * settings.max_event_bytes)
        parsed = parse_request(raw, TranslateRequest)
        status, answer = await run_in_threadpool(translate, context, parsed, platform)
        return JSONResponse(answer.model_dump(exclude_none=True), status_code=status)

    return api


def _answer(
    item: QueueItem, field: str, target: str, original: str, as_html: bool
) -> tuple[int, TranslateResponse]:
    lang = item.language_code
    if item.language is not None and lang is None:
        return 200, TranslateResponse(
            status="unavailable",
            reason=f"the language of the text was not identified ({item.language.reason})",
        )
    if lang == target:
        return 200, TranslateResponse(
            status="done", translated_text=original, detected_language=lang
        )
    for t in item.translations:
        if t.field == field and t.target_language == target:
            text = text_to_html(t.text) if as_html else t.text
            return 200, TranslateResponse(
                status="done", translated_text=text, detected_language=lang
            )
    for u in item.translations_unavailable:
        if u.target_language == target:
            return 200, TranslateResponse(
                status="unavailable", reason=u.reason, detected_language=lang
            )
    return 202, TranslateResponse(status="pending", detected_language=lang)
