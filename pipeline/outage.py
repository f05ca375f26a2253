"""A short-lived "known down" state for a backend (store or bus), so callers fail fast.

After a call fails because the backend is unreachable, the backend counts as down for
``hold_s`` seconds (``HEMICYCLE_BACKEND_DOWN_S``): calls in that window fail at once with the
last error instead of each waiting out its own connection timeouts and retries. The first call
after the window tries the backend again. Thread-safe; one per backend client.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class KnownDown:
    def __init__(self, hold_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_s = hold_s
        self._clock = clock
        self._lock = threading.Lock()
        self._until = float("-inf")
        self._error = ""

    def trip(self, error: BaseException | str) -> None:
        """Record a failure: the backend is down for the next ``hold_s`` seconds."""
        with self._lock:
            self._until = self._clock() + self.hold_s
            self._error = str(error)[:300]

    def clear(self) -> None:
        with self._lock:
            self._until = float("-inf")

    def remaining_s(self) -> float:
        """Seconds left in the known-down window (0 when the backend may be tried)."""
        with self._lock:
            return max(0.0, self._until - self._clock())

    def reason(self) -> str | None:
        """Why a call must fail now, or None when it may go ahead."""
        left = self.remaining_s()
        if left <= 0:
            return None
        return f"known down, next attempt in {left:.1f} s (last error: {self._error})"

    def retry_after_s(self) -> int:
        """A ``Retry-After`` value: the rest of the window, at least one second."""
        return max(1, math.ceil(self.remaining_s()))
