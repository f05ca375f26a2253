"""A local stand-in for the DSA Transparency Database API, for the submission tests.

It applies the validation of the real service, written here from its PHP sources and
independently of :mod:`pipeline.dsa` so that it is a real check of what Hemicycle sends:
the rules of ``StatementStoreRequest`` / ``GroupedSubmissionsService::multi_rules`` as Laravel
evaluates them (``required``, ``required_if``, ``required_without_all``, ``exclude_unless``,
``nullable``, ``in``, ``max``, ``date_format``, date bounds, ``regex``), read from
``tests/data/dsa_codes.json`` (the code tables of ``app/Models/Statement.php`` and the
European services, copied from digital-services-act/transparency-database at 69e80a0).

``POST /api/v1/statements`` answers like ``StatementMultipleAPIController``: 401 without the
Bearer token; 422 ``{"errors": {"statements": [...]}}`` unless 1 to 100 statements; 422
``{"errors": {"statement_<i>": {field: [messages]}}}`` when any statement is invalid; 422
``{"message", "errors": {"puid": [...], "existing_puids": [...]}}`` when a puid repeats in the
call or exists already; otherwise 201 ``{"statements": [...]}`` with a uuid each. Nothing of a
refused call is kept. ``fail_next(n)`` makes the next n calls answer 503.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CODES = json.loads((Path(__file__).parent / "data" / "dsa_codes.json").read_text())
ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
NOT_UNIQUE = "The platform identifier(s) are not all unique within this call."


def _in(name: str) -> str:
    return "in:" + ",".join(CODES[name])


def _in_nullable(name: str) -> str:
    return "in:null," + ",".join(CODES[name])


# Field → Laravel rules, as in StatementStoreRequest::rules() (the Rule::requiredIf /
# excludeIf closures are spelled as the conditions they test).
RULES: dict[str, list[str]] = {
    "decision_visibility": [
        "array",
        _in_nullable("DECISION_VISIBILITIES"),
        "required_without_all:decision_monetary,decision_provision,decision_account",
        "nullable",
    ],
    "decision_visibility_other": [
        "max:500",
        "required_if_contains:decision_visibility,DECISION_VISIBILITY_OTHER",
        "exclude_unless_contains:decision_visibility,DECISION_VISIBILITY_OTHER",
    ],
    "decision_monetary": [
        _in_nullable("DECISION_MONETARIES"),
        "required_without_all:decision_visibility,decision_provision,decision_account",
        "nullable",
    ],
    "decision_monetary_other": [
        "required_if:decision_monetary,DECISION_MONETARY_OTHER",
        "exclude_unless:decision_monetary,DECISION_MONETARY_OTHER",
        "max:500",
    ],
    "decision_provision": [
        _in_nullable("DECISION_PROVISIONS"),
        "required_without_all:decision_visibility,decision_monetary,decision_account",
        "nullable",
    ],
    "decision_account": [
        _in_nullable("DECISION_ACCOUNTS"),
        "required_without_all:decision_visibility,decision_monetary,decision_provision",
        "nullable",
    ],
    "account_type": [_in_nullable("ACCOUNT_TYPES"), "nullable"],
    "category_specification": ["array", _in_nullable("KEYWORDS"), "nullable"],
    "category_specification_other": ["max:500"],
    "decision_ground": ["required", _in("DECISION_GROUNDS")],
    "decision_ground_reference_url": ["url", "nullable", "max:500"],
    "illegal_content_legal_ground": [
        f"required_if:decision_ground,{ILLEGAL}",
        f"exclude_unless:decision_ground,{ILLEGAL}",
        "max:500",
    ],
    "illegal_content_explanation": [
        f"required_if:decision_ground,{ILLEGAL}",
        f"exclude_unless:decision_ground,{ILLEGAL}",
        "max:2000",
    ],
    "incompatible_content_ground": [
        f"required_if:decision_ground,{INCOMPATIBLE}",
        f"exclude_unless:decision_ground,{INCOMPATIBLE}",
        "max:500",
    ],
    "incompatible_content_explanation": [
        f"required_if:decision_ground,{INCOMPATIBLE}",
        f"exclude_unless:decision_ground,{INCOMPATIBLE}",
        "max:2000",
    ],
    "incompatible_content_illegal": [
        _in("INCOMPATIBLE_CONTENT_ILLEGALS"),
        f"exclude_unless:decision_ground,{INCOMPATIBLE}",
    ],
    "content_type": ["array", "required", _in("CONTENT_TYPES")],
    "content_type_other": [
        "max:500",
        "required_if_contains:content_type,CONTENT_TYPE_OTHER",
        "exclude_unless_contains:content_type,CONTENT_TYPE_OTHER",
    ],
    "category": ["required", _in("STATEMENT_CATEGORIES")],
    "category_addition": ["array", _in("STATEMENT_CATEGORIES")],
    "territorial_scope": ["array", "nullable", _in("EUROPEAN_COUNTRY_CODES")],
    "content_language": [_in("ALL_LANGUAGES"), "nullable"],
    "content_date": [
        "required",
        "date_format:Y-m-d",
        "after_or_equal:2000-01-01",
        "before_or_equal:2038-01-01",
    ],
    "application_date": [
        "required",
        "date_format:Y-m-d",
        "after_or_equal:2020-01-01",
        "before_or_equal:2038-01-01",
    ],
    "end_date_account_restriction": ["date_format:Y-m-d", "nullable", "before_or_equal:2038-01-01"],
    "end_date_monetary_restriction": [
        "date_format:Y-m-d",
        "nullable",
        "before_or_equal:2038-01-01",
    ],
    "end_date_service_restriction": ["date_format:Y-m-d", "nullable", "before_or_equal:2038-01-01"],
    "end_date_visibility_restriction": [
        "date_format:Y-m-d",
        "nullable",
        "before_or_equal:2038-01-01",
    ],
    "decision_facts": ["required", "max:5000"],
    "source_type": ["required", _in("SOURCE_TYPES")],
    "source_identity": ["max:500", "exclude_if:source_type,SOURCE_VOLUNTARY"],
    "automated_detection": ["required", "in:" + ",".join(CODES["AUTOMATED_DETECTIONS"])],
    "automated_decision": ["required", _in("AUTOMATED_DECISIONS")],
    "puid": ["required", "max:500", "regex:^[a-zA-Z0-9-_]+$"],
}


def _trimmed(value: Any) -> Any:
    """Laravel's TrimStrings and ConvertEmptyStringsToNull middleware."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, list):
        return [_trimmed(v) for v in value]
    if isinstance(value, dict):
        return {k: _trimmed(v) for k, v in value.items()}
    return value


def _filled(value: Any) -> bool:
    return not (value is None or value == "" or value == [] or value == {})


def _label(field: str) -> str:
    return field.replace("_", " ")


def _strict_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return parsed if parsed.strftime("%Y-%m-%d") == value else None


def _excluded(rules: list[str], data: dict[str, Any]) -> bool:
    for rule in rules:
        name, _, arg = rule.partition(":")
        other, _, wanted = arg.partition(",")
        if name == "exclude_unless" and data.get(other) != wanted:
            return True
        if name == "exclude_if" and data.get(other) == wanted:
            return True
        if name == "exclude_unless_contains":
            values = data.get(other)
            if not (isinstance(values, list) and wanted in values):
                return True
    return False


def _required(rules: list[str], data: dict[str, Any]) -> str | None:
    """The message of an implicit rule this field's absence breaks, if any."""
    for rule in rules:
        name, _, arg = rule.partition(":")
        other, _, wanted = arg.partition(",")
        if name == "required":
            return "The {label} field is required."
        if name == "required_if" and data.get(other) == wanted:
            return f"The {{label}} field is required when {_label(other)} is {wanted}."
        if name == "required_if_contains":
            values = data.get(other)
            if isinstance(values, list) and wanted in values:
                return f"The {{label}} field is required when {_label(other)} contains {wanted}."
        if name == "required_without_all":
            others = arg.split(",")
            if not any(_filled(data.get(o)) for o in others):
                names = " / ".join(_label(o) for o in others)
                return f"The {{label}} field is required when none of {names} are present."
    return None


def _check(rule: str, value: Any) -> str | None:
    name, _, arg = rule.partition(":")
    if name == "array" and not isinstance(value, list):
        return "The {label} field must be an array."
    if name == "in":
        allowed = arg.split(",")
        values = value if isinstance(value, list) else [value]
        if any(not isinstance(v, str) or v not in allowed for v in values):
            return "The selected {label} is invalid."
    if name == "max":
        size = len(value) if isinstance(value, (str, list)) else 0
        if size > int(arg):
            return f"The {{label}} field must not be greater than {arg} characters."
    if name == "date_format" and _strict_date(value) is None:
        return "The {label} field must match the format Y-m-d."
    if name in ("after_or_equal", "before_or_equal"):
        parsed = _strict_date(value)
        bound = date.fromisoformat(arg)
        if parsed is None or (parsed < bound if name == "after_or_equal" else parsed > bound):
            word = "after" if name == "after_or_equal" else "before"
            return f"The {{label}} field must be a date {word} or equal to {arg}."
    if name == "regex" and not (isinstance(value, str) and re.fullmatch(arg, value)):
        return "The {label} field format is invalid."
    if name == "url" and not (
        isinstance(value, str) and re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value)
    ):
        return "The {label} field must be a valid URL."
    return None


def validate_statement(raw: Any) -> dict[str, list[str]]:
    """Field → error messages for one statement (empty: accepted)."""
    if not isinstance(raw, dict):
        return {"statement": ["The statement must be an object."]}
    data = _trimmed(raw)
    errors: dict[str, list[str]] = {}
    for field, rules in RULES.items():
        if _excluded(rules, data):
            continue
        value = data.get(field)
        messages: list[str] = []
        if not _filled(value):
            required = _required(rules, data)
            if required:
                messages.append(required)
            elif field in data and value is None and "nullable" not in rules:
                messages.extend(
                    m for m in (_check(r, value) for r in rules if r.split(":")[0] != "max") if m
                )
        else:
            messages.extend(m for m in (_check(rule, value) for rule in rules) if m)
        if messages:
            errors[field] = [m.replace("{label}", _label(field)) for m in messages]
    return errors


class DsaServer:
    """The stand-in API on a free loopback port; ``accepted`` maps puid → statement."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.accepted: dict[str, dict[str, Any]] = {}
        self.calls: list[int] = []  # statements per call received, refused ones included
        self.answers: list[int] = []
        self._failures = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = server.handle(
                    self.path, self.headers.get("Authorization", ""), body
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._failures = n

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def handle(self, path: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            status, answer = self._handle(path, authorization, body)
            self.answers.append(status)
            return status, answer

    def _handle(self, path: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path != "/api/v1/statements":
            return 404, {"message": "Not Found"}
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Unauthenticated."}
        if self._failures > 0:
            self._failures -= 1
            return 503, {"message": "Service Unavailable"}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"message": "Malformed JSON"}
        statements = payload.get("statements") if isinstance(payload, dict) else None
        if not isinstance(statements, list) or not 1 <= len(statements) <= 100:
            return 422, {
                "message": "The statements field must have between 1 and 100 items.",
                "errors": {
                    "statements": ["The statements field must have between 1 and 100 items."]
                },
            }
        self.calls.append(len(statements))
        errors = {
            f"statement_{index}": found
            for index, statement in enumerate(statements)
            if (found := validate_statement(statement))
        }
        if errors:
            return 422, {"errors": errors}
        puids = [s["puid"] for s in statements]
        repeated = sorted({p for p in puids if puids.count(p) > 1})
        existing = sorted(p for p in set(puids) if p in self.accepted)
        if repeated or existing:
            return 422, {
                "message": NOT_UNIQUE,
                "errors": {"puid": [NOT_UNIQUE], "existing_puids": repeated or existing},
            }
        created = []
        for statement in statements:
            stored = {**statement, "uuid": str(uuid.uuid4())}
            self.accepted[statement["puid"]] = stored
            created.append(stored)
        return 201, {"statements": created}
