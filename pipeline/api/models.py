"""Shared models and HTTP plumbing of the platform API.

* :class:`ErrorBody` is the one error shape every platform endpoint answers with:
  ``{"error": "<machine code>", "detail": "<human sentence>", "errors": [...]}``; ``errors``
  lists the failing items of a request (their index in a batch and the failing fields).
* :class:`ApiError` is raised anywhere below an endpoint (dependencies included) and turned into
  that body by :class:`ApiRoute`, which also answers 503 when the store or the bus is down,
  so a platform can tell "retry later" from "fix your request".
* :func:`read_body` reads a request body with a byte limit *before* anything parses it, and
  :func:`parse_json` refuses objects of more than :data:`MAX_OBJECT_FIELDS` fields (while
  parsing) and nesting deeper than :data:`MAX_DEPTH` *before* any validation, so a hostile
  body costs little; at most :data:`MAX_LISTED_ERRORS` errors are listed in an answer.
* :func:`inline_schema` gives a self-contained JSON schema of a model for ``openapi_extra``
  (endpoints that parse their own bodies still document them at ``/docs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from functools import cache
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from pipeline.bus.base import BusError
from pipeline.errors import HemicycleError, PermanentError
from pipeline.logs import get_logger
from pipeline.schemas.codec import describe_validation_error
from pipeline.store.base import StoreError

log = get_logger("api")

# Largest version number accepted over HTTP: the largest integer every JSON client (JavaScript
# included) represents exactly.
MAX_VERSION = 2**53 - 1
# Bounds on the work and the answer of one request. No object Hemicycle reads has more than a
# few dozen fields (a Decidim field holds one entry per locale) nor more than a few levels.
MAX_OBJECT_FIELDS = 200
MAX_DEPTH = 32
MAX_LISTED_ERRORS = 20


class _TooManyFields(PermanentError, ValueError):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _bounded_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` object hook: refuse an object with too many fields as soon as it is parsed."""
    if len(pairs) > MAX_OBJECT_FIELDS:
        raise _TooManyFields(len(pairs))
    return dict(pairs)


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def refuse_batch(
    refused: list[ItemError], *, platform: str, acts: str, what: str, error: str
) -> None:
    """Refuse a batch with invalid items, accepting nothing: 403 when an item names another
    platform than the key's (``this API key {acts} for platform …``), else 422 naming the first
    invalid item (``error`` is the 422's code)."""
    forbidden = [r for r in refused if r.fields and r.fields[0].type == "forbidden"]
    if forbidden:
        raise ApiError(
            403,
            "forbidden_platform",
            f"this API key {acts} for platform {platform!r} only; "
            f"{len(forbidden)} {what}(s) name another platform",
            errors=capped(forbidden),
        )
    if refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more invalid {what}(s))" if len(refused) > 1 else ""
        raise ApiError(
            422,
            error,
            f"item {first.index}: {first.message}{more}; nothing was accepted",
            errors=capped(refused),
        )


def capped(errors: list[ItemError], what: str = "invalid item") -> list[ItemError]:
    """At most :data:`MAX_LISTED_ERRORS` item errors, then one entry counting the rest."""
    if len(errors) <= MAX_LISTED_ERRORS:
        return errors
    rest = len(errors) - MAX_LISTED_ERRORS
    note = ItemError(message=f"{rest} more {what}(s) not listed")
    return [*errors[:MAX_LISTED_ERRORS], note]


class FieldError(BaseModel):
    """One failing field of one item."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Dotted path of the field, e.g. `created_at` or `title.en`.")
    message: str
    type: str = Field(description="Machine-readable kind of failure (pydantic's error type).")


class ItemError(BaseModel):
    """Why one item of a request was refused."""

    model_config = ConfigDict(extra="forbid")

    index: int | None = Field(None, description="Position in the batch (0-based); null: request.")
    id: str | None = Field(None, description="The item's id, when it could be read.")
    message: str = Field(description="Every failing field, `field: reason; …`.")
    fields: list[FieldError] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the platform API."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="Machine-readable code, e.g. `invalid_contribution`.")
    detail: str = Field(description="What is wrong, in one sentence a human can act on.")
    errors: list[ItemError] = Field(default_factory=list)


class ApiError(HemicycleError):
    """An answer other than success; :class:`ApiRoute` renders it as :class:`ErrorBody`."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        errors: list[ItemError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.body = ErrorBody(error=error, detail=detail, errors=errors or [])
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body.model_dump(mode="json"), status_code=self.status, headers=self.headers
        )


class ApiRoute(APIRoute):
    """Route class of every platform router: renders :class:`ApiError`, store/bus outages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return exc.response()
            except (StoreError, BusError) as exc:
                log.warning(
                    "platform API: backend unavailable",
                    extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"},
                )
                which = "store" if isinstance(exc, StoreError) else "event bus"
                return ApiError(
                    503,
                    "unavailable",
                    f"the {which} is unavailable ({type(exc).__name__}); nothing was accepted, "
                    "retry later",
                    headers={"Retry-After": "5"},
                ).response()

        return guarded


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for route decorators: the error codes an endpoint may answer."""
    text = {
        400: "The body is not a JSON document (empty, not UTF-8, malformed).",
        401: "Missing, malformed or unknown API key (see `WWW-Authenticate`).",
        403: "The API key's platform may not do this.",
        404: "Not known (yet).",
        409: "Conflicts with what is already stored.",
        413: "The body or the batch is too large.",
        415: "The body is not `application/json`.",
        422: "The JSON is well formed but invalid; `errors` names each item and field.",
        503: "The store or the event bus is unavailable; retry later.",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    """The failing fields of a validation error, paths joined with dots (at most
    :data:`MAX_LISTED_ERRORS`, then one entry counting the rest)."""
    out: list[FieldError] = []
    errors = exc.errors()
    for err in errors[:MAX_LISTED_ERRORS]:
        path = ".".join(str(part) for part in err["loc"])
        field = f"{prefix}.{path}" if prefix and path else (prefix or path or "payload")
        out.append(
            FieldError(
                field=field, message=err["msg"].removeprefix("Value error, "), type=err["type"]
            )
        )
    if len(errors) > MAX_LISTED_ERRORS:
        rest = len(errors) - MAX_LISTED_ERRORS
        out.append(
            FieldError(field=prefix or "payload", message=f"{rest} more errors not listed",
                       type="too_many_errors")
        )  # fmt: skip
    return out


def item_error(
    exc: ValidationError, *, index: int | None, item_id: str | None, prefix: str = ""
) -> ItemError:
    message = describe_validation_error(exc)
    if prefix:
        message = "; ".join(f"{prefix}.{part}" for part in message.split("; "))
    return ItemError(
        index=index, id=item_id, message=message, fields=field_errors(exc, prefix=prefix)
    )


def check_content_type(request: Request) -> None:
    """415 unless the body is declared JSON (a missing Content-Type is taken as JSON)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or re.fullmatch(r"application/[\w.+-]+\+json", media):
        return
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type must be application/json, got {media or 'nothing'!r}",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) more than ``limit`` bytes before reading or parsing it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length is not a number") from None
        if length > limit:
            raise ApiError(
                413,
                "body_too_large",
                f"the body of {length} bytes exceeds the limit of {limit} bytes",
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def keyed_body(
    request: Request, require_platform: Callable[[Request], str], limit: int
) -> tuple[str, bytes]:
    """The platform of the request's API key and its raw body, checked in the order a client
    fixes them: the key (401), the declared type (415), then the size (413). The key check
    reads the store, so it runs in the thread pool."""
    platform = await run_in_threadpool(require_platform, request)
    check_content_type(request)
    return platform, await read_body(request, limit)


def parse_json(raw: bytes) -> Any:
    """The JSON document of a body, or 400 naming what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "empty_body", "the body is empty; send a JSON document")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400,
            "invalid_encoding",
            f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}",
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_bounded_object)
    except _TooManyFields as exc:
        raise ApiError(
            422,
            "too_many_fields",
            f"an object of the body has {exc.count} fields, more than the limit of "
            f"{MAX_OBJECT_FIELDS}; nothing was accepted",
        ) from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from None
    if _too_deep(data):
        raise ApiError(
            422, "too_deep", f"the body nests more than {MAX_DEPTH} levels; nothing was accepted"
        )
    return data


def surrogate_path(value: Any, path: str = "") -> str | None:
    """Path of the first string holding an unpaired UTF-16 surrogate (not valid Unicode).

    ``json`` decodes ``"\\ud800"`` into a lone surrogate that cannot be encoded again, so such
    text must be refused at the door rather than fail when the event is serialised.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "payload"
        return None
    if isinstance(value, dict):
        for key, inner in value.items():
            found = surrogate_path(key, path) or surrogate_path(inner, f"{path}.{key}".lstrip("."))
            if found:
                return found
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found = surrogate_path(inner, f"{path}.{i}".lstrip("."))
            if found:
                return found
    return None


M = TypeVar("M", bound=BaseModel)


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"


def parse_request(raw: bytes, model: type[M]) -> M:
    """A request body that must be one JSON object of ``model``; ``ApiError`` (400/422) if not."""
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", f"expected an object, got {json_type(data)}")
    bad = surrogate_path(data)
    if bad is not None:
        raise ApiError(422, "invalid_request", f"{bad}: contains an unpaired UTF-16 surrogate")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = item_error(exc, index=None, item_id=None)
        raise ApiError(422, "invalid_request", error.message, errors=[error]) from None


def one_or_many(schema: dict[str, Any], key: str) -> dict[str, Any]:
    """OpenAPI schema of a body that is one ``schema`` object or ``{key: [schema, ...]}``."""
    return {
        "oneOf": [
            schema,
            {
                "type": "object",
                "properties": {key: {"type": "array", "items": schema}},
                "required": [key],
                "additionalProperties": False,
            },
        ]
    }


@cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema, generated once per process (every app built asks again)."""
    return model.model_json_schema()


def inline_schema(model: type[BaseModel], **changes: Any) -> dict[str, Any]:
    """JSON schema of ``model`` with its ``$defs`` inlined (OpenAPI ``openapi_extra``). A new
    tree each call: the cached schema is only read."""
    schema = dict(_json_schema(model))
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    out: dict[str, Any] = resolve(schema)
    out.update(changes)
    return out


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body the endpoint parses itself."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }
