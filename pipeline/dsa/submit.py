"""Submission of statements to the DSA Transparency Database (``POST /api/v1/statements``).

Batches of up to 100, all or nothing as the API takes them. What it accepted is recorded in
the store's cache (namespace ``dsa-submitted``, key ``<endpoint>|<puid>``, no expiry; kept
across ``hemicycle rebuild``) and never sent again to that endpoint. The API's answer that a
puid already exists (422 with ``errors.existing_puids``: it inserted nothing) counts those
statements as accepted; the rest of the batch is sent again. 5xx, 429 and connection failures
are retried with exponential backoff (a ``Retry-After`` in seconds lengthens the wait); any
other refusal stops the run, naming the puid and field refused, and records nothing of that
batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from pipeline.errors import HemicycleError
from pipeline.store.base import QueueStore
from pipeline.store.namespaces import CacheNamespace

NAMESPACE: CacheNamespace = "dsa-submitted"
MAX_BATCH = 100
MAX_WAIT_S = 60.0


class SubmitError(HemicycleError):
    """The run stopped: a refusal (names the puid and field) or the API out of reach."""


@dataclass
class Summary:
    sent: int = 0
    skipped: int = 0
    refused: int = 0
    unsent: int = 0

    def line(self) -> str:
        return (
            f"sent {self.sent}, skipped {self.skipped} (already accepted), "
            f"refused {self.refused}, not sent {self.unsent}"
        )


def _describe_refusal(batch: Sequence[dict[str, Any]], status: int, body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    parts: list[str] = []
    if isinstance(errors, dict):
        for name, fields in errors.items():
            if name.startswith("statement_") and name[10:].isdigit() and isinstance(fields, dict):
                index = int(name[10:])
                puid = batch[index].get("puid") if index < len(batch) else None
                for field_name, messages in fields.items():
                    shown = (
                        "; ".join(map(str, messages)) if isinstance(messages, list) else messages
                    )
                    parts.append(
                        f"statement {puid} (#{index + 1} of the batch): {field_name}: {shown}"
                    )
            else:
                parts.append(f"{name}: {errors[name]}")
    if not parts:
        text = json.dumps(body)[:300] if body is not None else ""
        parts.append(f"{text}")
    return f"the Transparency Database refused the batch (HTTP {status}): " + " | ".join(parts)


class Submitter:
    def __init__(
        self,
        endpoint: str,
        token: str,
        store: QueueStore,
        *,
        batch_size: int = MAX_BATCH,
        attempts: int = 6,
        backoff_s: float = 1.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        client: httpx.Client | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch size must be 1 to {MAX_BATCH}")
        self.endpoint = endpoint.rstrip("/")
        self.url = self.endpoint + "/api/v1/statements"
        self.store = store
        self.batch_size = batch_size
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.client = client or httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self.client.close()

    def _key(self, puid: str) -> str:
        return f"{self.endpoint}|{puid}"

    def submit(self, rows: Sequence[dict[str, Any]], summary: Summary | None = None) -> Summary:
        """Send ``rows`` (API-form statements); raises :class:`SubmitError` when it stops."""
        summary = summary or Summary()
        done = self.store.cache_get_many(NAMESPACE, [self._key(r["puid"]) for r in rows])
        pending = [r for r in rows if self._key(r["puid"]) not in done]
        summary.skipped += len(rows) - len(pending)
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            try:
                created, existing = self._send(batch)
            except SubmitError:
                summary.refused += len(batch)
                summary.unsent += len(pending) - start - len(batch)
                raise
            now = datetime.now(UTC).isoformat()
            self.store.cache_set_many(
                NAMESPACE,
                {
                    self._key(puid): json.dumps({"uuid": uuid, "at": now})
                    for puid, uuid in {**existing, **created}.items()
                },
            )
            summary.sent += len(created)
            summary.skipped += len(existing)
        return summary

    def _send(self, batch: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
        """(created puid → uuid, already existing puid → "") for one all-or-nothing batch."""
        existing: dict[str, str] = {}
        remaining = batch
        while remaining:
            response = self._post(remaining)
            body = _json(response)
            if response.status_code in (200, 201):
                made = body.get("statements", []) if isinstance(body, dict) else []
                uuids = {s.get("puid"): str(s.get("uuid", "")) for s in made if isinstance(s, dict)}
                return {r["puid"]: uuids.get(r["puid"], "") for r in remaining}, existing
            if response.status_code in (401, 403):
                raise SubmitError(
                    f"the Transparency Database refused the token (HTTP {response.status_code}):"
                    " check HEMICYCLE_DSA_TOKEN and the platform's API permissions"
                )
            duplicates = _existing_puids(body)
            known = {r["puid"] for r in remaining} & duplicates
            if response.status_code == 422 and known:
                existing.update(dict.fromkeys(sorted(known), ""))
                remaining = [r for r in remaining if r["puid"] not in known]
                continue
            raise SubmitError(_describe_refusal(remaining, response.status_code, body))
        return {}, existing

    def _post(self, batch: list[dict[str, Any]]) -> httpx.Response:
        problem = ""
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                response = self.client.post(
                    self.url, json={"statements": batch}, headers=self.headers
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = max(wait, float(retry_after))
            if attempt < self.attempts:
                self.sleep(min(wait, MAX_WAIT_S))
        raise SubmitError(f"{self.url} unreachable after {self.attempts} attempts ({problem})")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"body": response.text[:300]}


def _existing_puids(body: Any) -> set[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    found = errors.get("existing_puids") if isinstance(errors, dict) else None
    return {str(p) for p in found} if isinstance(found, list) else set()
