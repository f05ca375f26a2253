"""One webhook POST, retried with jittered exponential backoff (tenacity), all bounded.

* 2xx: delivered.
* Connection errors, timeouts, 408, 429 and 5xx: transient, retried up to
  ``delivery_max_attempts`` attempts in all, waiting a random time in a window that doubles
  each attempt up to ``delivery_backoff_max_s`` ("full jitter"); a ``Retry-After`` header
  (seconds or HTTP date) lengthens the wait, never beyond ``delivery_backoff_max_s``.
* Any other status (4xx, and 3xx: redirects are not followed): permanent, not retried.

Each attempt is signed afresh (the timestamp is part of the signature), so retries spread
over minutes still pass the receiver's tolerance window. A request never takes longer than
``delivery_timeout_s`` per network phase, and at most 1 KiB of an error response is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pipeline.delivery.payloads import Payload, payload_body
from pipeline.delivery.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign
from pipeline.delivery.webhooks import PlatformWebhook
from pipeline.errors import HemicycleError, PermanentError, TransientError

if TYPE_CHECKING:
    from pipeline.config import Settings

USER_AGENT = "hemicycle-delivery/1"
ATTEMPT_HEADER = "X-Hemicycle-Delivery-Attempt"
SNIPPET_BYTES = 1024
SNIPPET_CHARS = 200


class WebhookError(HemicycleError):
    """A delivery that did not succeed. ``reason`` is meant for humans and dead letters."""

    def __init__(self, reason: str, *, permanent: bool, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.attempts = attempts


@dataclass(frozen=True)
class Receipt:
    """A successful delivery: the status the platform answered and the attempts it took."""

    status_code: int
    attempts: int


class _Transient(TransientError):
    def __init__(self, detail: str, snippet: str = "", retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.snippet = snippet
        self.retry_after = retry_after


class _Permanent(PermanentError):
    def __init__(self, detail: str, snippet: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.snippet = snippet


def _tail(snippet: str) -> str:
    return f": {snippet}" if snippet else ""


class _Aborted(HemicycleError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _plural(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


class WebhookSender:
    """POSTs signed payloads; thread-safe (one pooled ``httpx.Client``)."""

    def __init__(
        self,
        *,
        max_attempts: int = 8,
        timeout_s: float = 10.0,
        backoff_max_s: float = 60.0,
        backoff_multiplier: float = 1.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff_max_s = backoff_max_s
        self.sleep = sleep
        self.clock = clock
        self._backoff = wait_random_exponential(multiplier=backoff_multiplier, max=backoff_max_s)
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, client: httpx.Client | None = None
    ) -> WebhookSender:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            timeout_s=settings.delivery_timeout_s,
            backoff_max_s=settings.delivery_backoff_max_s,
            client=client,
        )

    def send(
        self,
        webhook: PlatformWebhook,
        payload: Payload,
        *,
        abort: Callable[[], str | None] | None = None,
    ) -> Receipt:
        """Deliver ``payload``; raise :class:`WebhookError` once it cannot succeed.

        ``abort`` is asked before every retry (not the first attempt): a reason it returns
        stops the retries (e.g. the endpoint was found down for another event meanwhile).
        """
        body = payload_body(payload)
        url = webhook.display_url
        attempts = 0

        def attempt() -> int:
            nonlocal attempts
            if attempts and abort is not None and (why := abort()):
                raise _Aborted(why)
            attempts += 1
            return self._post(webhook, payload, body, attempts)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            status = retrying(attempt)
        except _Transient as exc:
            raise WebhookError(
                f"webhook {url} {exc.detail} after {_plural(attempts)}{_tail(exc.snippet)}",
                permanent=False,
                attempts=attempts,
            ) from None
        except _Permanent as exc:
            raise WebhookError(
                f"webhook {url} {exc.detail} (permanent: not retried){_tail(exc.snippet)}",
                permanent=True,
                attempts=attempts,
            ) from None
        except _Aborted as exc:
            raise WebhookError(
                f"webhook {url}: gave up after {_plural(attempts)}: {exc.detail}",
                permanent=False,
                attempts=attempts,
            ) from None
        return Receipt(status_code=status, attempts=attempts)

    def _post(self, webhook: PlatformWebhook, payload: Payload, body: bytes, attempt: int) -> int:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(webhook.secret.get_secret_value(), body, timestamp),
            EVENT_ID_HEADER: payload.event_id,
            EVENT_TYPE_HEADER: payload.type,
            ATTEMPT_HEADER: str(attempt),
        }
        try:
            with self.client.stream("POST", webhook.url, content=body, headers=headers) as resp:
                status = resp.status_code
                if 200 <= status < 300:
                    _read_snippet(resp)  # drain a short answer: the connection is reused
                    return status
                snippet = _read_snippet(resp)
                retry_after = _retry_after(resp.headers.get("Retry-After"), self.clock())
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except httpx.RequestError as exc:
            raise _Transient(f"unreachable ({type(exc).__name__}: {exc})") from None
        if status in (408, 429) or status >= 500:
            raise _Transient(f"answered {status}", snippet, retry_after)
        raise _Permanent(f"answered {status}", snippet)

    def _wait(self, state: RetryCallState) -> float:
        delay = self._backoff(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.backoff_max_s))
        return delay

    def close(self) -> None:
        self.client.close()


def _read_snippet(response: httpx.Response) -> str:
    """The start of an error body, one line, for the dead letter (bounded read)."""
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = data[:SNIPPET_BYTES].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.fromtimestamp(now, UTC)).total_seconds())
