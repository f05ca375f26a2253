"""Running the web app: ``hemicycle serve`` in the foreground, ``hemicycle demo`` beside workers."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn

from moderator_ui.app import create_app
from moderator_ui.http_limits import ConcurrencyLimit, TimedH11Protocol
from pipeline.api.context import AppContext
from pipeline.config import Settings
from pipeline.logs import uvicorn_log_config


class _Server(uvicorn.Server):
    """uvicorn, except that SIGTERM/SIGINT end in a clean exit (status 0) once requests in
    flight are done, instead of re-raising the signal after shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def make_server(
    settings: Settings, *, host: str, port: int, context: AppContext | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        ConcurrencyLimit(create_app(settings, context=context), settings.http_max_concurrency),
        host=host,
        port=port,
        http=TimedH11Protocol.configured(settings),
        log_level="warning",
        log_config=uvicorn_log_config("warning"),  # JSON lines, like every log of ours
        access_log=False,
        proxy_headers=True,
        timeout_keep_alive=settings.http_keepalive_timeout_s,
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn finishes requests in flight, then exits)."""
    make_server(settings, host=host, port=port).run()


class BackgroundServer:
    """The app served from a thread (the demo: workers keep the main thread and its signals)."""

    def __init__(self, settings: Settings, *, host: str, port: int) -> None:
        self.server = make_server(settings, host=host, port=port)
        self.thread = threading.Thread(target=self.server.run, name="ui", daemon=True)

    def start(self, timeout_s: float = 15.0) -> None:
        self.thread.start()
        for _ in range(int(timeout_s * 20)):
            if self.server.started or not self.thread.is_alive():
                break
            self.thread.join(0.05)
        if not self.server.started:
            raise RuntimeError("the web server did not start (is the port in use?)")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
