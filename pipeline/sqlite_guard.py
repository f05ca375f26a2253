"""One SQLite connection shared safely by every thread of a process.

The embedded bus and store each keep one connection that the UI's request threads, its live
poller and a worker's batch all use. CPython's :mod:`sqlite3` crashes the process when a
statement steps while another thread steps or closes the same connection, so every call that
touches it runs under :func:`serialised`: the owner's re-entrant lock is held for the whole
call (fetches included), and a call after :meth:`close` raises the owner's "unavailable" error
instead of reaching a closed handle.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar


class Guarded(Protocol):
    _lock: threading.RLock
    _closed: bool

    def _closed_error(self) -> Exception:
        """The error a call raises once the connection is closed."""


_S = TypeVar("_S", bound=Guarded)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def serialised(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run ``method`` holding its owner's lock; refuse once the owner is closed."""

    @functools.wraps(method)
    def locked(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            if self._closed:
                raise self._closed_error()
            return method(self, *args, **kwargs)

    return locked


def close_once(owner: Guarded, db: sqlite3.Connection) -> None:
    """Close ``db`` once every running call of ``owner`` has finished; later calls refuse."""
    with owner._lock:
        if not owner._closed:
            owner._closed = True
            db.close()
