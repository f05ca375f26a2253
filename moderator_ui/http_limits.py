"""Slow and idle clients cannot hold ``hemicycle serve``: read timeouts and connection limits.

uvicorn closes idle keep-alive connections but waits forever for a request that never
completes. :class:`TimedH11Protocol` adds what a public server needs:

* **header timeout** (``HEMICYCLE_HTTP_HEADER_TIMEOUT_S``): from its first byte (or from the
  connection, if nothing comes), a request's line and headers must arrive within this time;
* **body timeout** (``HEMICYCLE_HTTP_BODY_TIMEOUT_S``): while a body is announced but not all
  sent, the longest silence between two chunks;
* on either, the client gets ``408 Request Timeout`` (when no answer has started) and the
  connection is closed, so the request handler sees a disconnect and ends;
* **connection cap** (``HEMICYCLE_HTTP_MAX_CONNECTIONS``): past it, a new connection closes the
  oldest one that has not yet sent a whole request head, so half-open connections cannot
  starve ``/healthz`` or anyone else.

:class:`ConcurrencyLimit` answers 503 (``Retry-After: 1``) past
``HEMICYCLE_HTTP_MAX_CONCURRENCY`` requests in flight; ``/healthz`` is always answered and
the UI's live ``/events`` streams (open as long as a page is) are not counted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from pipeline.config import Settings

_TIMEOUT_BODY = (
    b'{"error": "request_timeout", "detail": "the request did not arrive in time; send it again"}'
)
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMEOUT_BODY)}\r\n\r\n".encode()
    + _TIMEOUT_BODY
)


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body read timeouts and a connection cap."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_connections: int = 2_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._awaiting_head_since: float | None = None

    @classmethod
    def configured(cls, settings: Settings) -> type[TimedH11Protocol]:
        """This protocol with the limits of ``settings`` (uvicorn builds one per connection)."""
        attrs = {
            "header_timeout_s": settings.http_header_timeout_s,
            "body_timeout_s": settings.http_body_timeout_s,
            "max_connections": settings.http_max_connections,
        }
        return type("ConfiguredTimedH11Protocol", (cls,), attrs)

    # Connection life.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:
            self._close_oldest_half_open()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        self._awaiting_head_since = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head_since is None and self.conn.their_state is h11.IDLE:
            self._await_head()  # the next request on a kept-alive connection
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._awaiting_head_since = None
            self._arm(self.body_timeout_s)
        elif state is not h11.IDLE:
            self._awaiting_head_since = None
            self._cancel_read_timer()

    def on_response_complete(self) -> None:
        self._cancel_read_timer()
        super().on_response_complete()  # arms uvicorn's keep-alive timer

    # Timers.

    def _await_head(self) -> None:
        self._awaiting_head_since = time.monotonic()
        self._arm(self.header_timeout_s)

    def _arm(self, seconds: float) -> None:
        self._cancel_read_timer()
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        started = self.cycle is not None and getattr(self.cycle, "response_started", False)
        if not started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    def _close_oldest_half_open(self) -> None:
        waiting = [
            (c._awaiting_head_since, id(c), c)
            for c in self.connections
            if isinstance(c, TimedH11Protocol) and c is not self and c._awaiting_head_since
        ]
        if waiting:
            oldest = min(waiting, key=lambda entry: (entry[0], entry[1]))[2]
            oldest._cancel_read_timer()
            oldest.transport.close()


_UNCOUNTED = frozenset({"/healthz", "/events"})


class ConcurrencyLimit:
    """ASGI middleware: 503 past ``limit`` HTTP requests in flight (see :data:`_UNCOUNTED`)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in _UNCOUNTED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = b'{"error": "busy", "detail": "too many requests in flight; retry shortly"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", b"1"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
