"""Live updates: one poller per process watches the queue; browsers follow it by SSE.

The poller reads the counts per state and the claims stamp (:mod:`moderator_ui.claims`) once a
second (two cheap store calls, whatever the number of browsers) and wakes every open
``/events`` stream when either changes. A browser then refreshes its counts and re-fetches its
list (who holds which item included), keeping its cursor and selection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from moderator_ui.claims import claims_stamp
from pipeline.logs import get_logger
from pipeline.store.base import QueueStore, StoreUnavailable

log = get_logger("ui")
POLL_S = 1.0
KEEPALIVE_S = 15.0


class Notifier:
    def __init__(self, store: QueueStore, *, poll_s: float = POLL_S) -> None:
        self.store = store
        self.poll_s = poll_s
        self.counts: dict[str, int] = {}
        self.stamp: str | None = None
        self.version = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the poller and wait for it: a store call it has running in a thread ends
        before the caller goes on to close the store."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                counts = await run_in_threadpool(self.store.counts)
                stamp = await run_in_threadpool(claims_stamp, self.store)
            except StoreUnavailable as exc:
                log.warning("live updates: store unavailable", extra={"error": str(exc)})
                counts, stamp = self.counts, self.stamp
            if counts != self.counts or stamp != self.stamp:
                self.counts, self.stamp = counts, stamp
                self.version += 1
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(self.poll_s)

    async def stream(self, is_disconnected: object) -> AsyncIterator[str]:
        """Server-sent events: ``counts`` on every change, a comment as keep-alive."""
        self.start()
        sent = -1
        yield "retry: 3000\n\n"
        while True:
            if sent != self.version:
                sent = self.version
                yield f"event: counts\ndata: {json.dumps(self.counts)}\n\n"
            waiter = self._changed
            try:
                await asyncio.wait_for(waiter.wait(), timeout=KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
            if callable(is_disconnected) and await is_disconnected():
                return
