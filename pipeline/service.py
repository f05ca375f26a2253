"""A running set of workers on the configured bus and store (``run`` and ``demo``).

With ``HEMICYCLE_METRICS_PORT`` set, the process serves ``/metrics``, ``/healthz`` and
``/readyz`` there (see :mod:`pipeline.metrics`) from before the models load, so a liveness
probe passes during a slow start while readiness waits for the workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.store import open_store
from pipeline.workers import build_stage
from pipeline.workers.runner import Runner, StopFlag, run_until

if TYPE_CHECKING:
    from pipeline.metrics import Every, WorkerHTTPServer

log = get_logger("service")


class Pipeline:
    """Opens bus and store, builds the named stages and drives them in one thread."""

    def __init__(self, settings: Settings, workers: Sequence[str]) -> None:
        self.settings = settings
        self.metrics_enabled = settings.metrics_port > 0
        self.http: WorkerHTTPServer | None = None
        self._refresh: Every | None = None
        self._last_round: float | None = None  # monotonic time the last round of steps ended
        self._store_ok = False
        if self.metrics_enabled:
            from pipeline.metrics import Every, start_worker_http

            self._refresh = Every()
            self.http = start_worker_http(settings.metrics_port, self.ready)
        try:
            self.bus = open_bus(settings)
            self.store = open_store(settings)
            self.runners: list[Runner] = []
            self.stop = StopFlag()
            for name in dict.fromkeys(workers):
                log.info("starting worker", extra={"worker": name})
                stage = build_stage(name, settings, self.store)
                self.runners.append(Runner(stage, self.bus, settings, metrics=self.metrics_enabled))
        except BaseException:
            self._stop_http()
            raise

    def ready(self) -> bool:
        """Every runner has polled (so joined its consumer group), the store answered at the
        last check, and the loop is not stuck: its last round ended within Kafka's own
        ``kafka_max_poll_interval_ms`` (past that the broker evicts the consumer anyway).

        Called from the HTTP thread: reads only what the worker thread records."""
        if self._last_round is None or not self._store_ok:
            return False
        if time.monotonic() - self._last_round > self.settings.kafka_max_poll_interval_ms / 1000:
            return False
        return all(runner.polls > 0 for runner in self.runners)

    def _with_upkeep(self, on_round: Callable[[int], None] | None) -> Callable[[int], None]:
        def hook(handled: int) -> None:
            self._after_round()
            if on_round is not None:
                on_round(handled)

        return hook

    def _after_round(self) -> None:
        """Metrics upkeep between rounds (worker thread): readiness, store check, queue gauges."""
        self._last_round = time.monotonic()
        if self._refresh is None or not self._refresh.due():
            return
        from pipeline.metrics import update_queue_gauges

        try:
            if any(runner.stage.name == "triage" for runner in self.runners):
                update_queue_gauges(self.store)  # answering counts also proves the store
            else:
                self.store.cache_get("health", "ping")  # one key read, as the API's /readyz
        except Exception as exc:  # not ready, but let the stages meet the outage themselves
            if self._store_ok:
                log.warning("store check failed", extra={"error": repr(exc)})
            self._store_ok = False
        else:
            self._store_ok = True

    def run(
        self, *, until_idle: bool = False, on_round: Callable[[int], None] | None = None
    ) -> None:
        self.stop.install()
        hook = self._with_upkeep(on_round) if self.metrics_enabled else on_round
        run_until(
            self.runners,
            self.stop,
            until_idle=until_idle,
            wait_s=self.settings.batch_max_wait_ms / 1000,
            on_round=hook,
        )
        log.info(
            "workers stopped",
            extra={"stats": {r.stage.name: vars(r.stats) for r in self.runners}},
        )

    def close(self) -> None:
        for runner in self.runners:
            runner.close()
        self.store.close()
        self.bus.close()
        self._stop_http()

    def _stop_http(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
