"""A running set of workers on the configured bus and store (``run`` and ``demo``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.logs import get_logger
from pipeline.store import open_store
from pipeline.workers import build_stage
from pipeline.workers.runner import Runner, StopFlag, run_until

log = get_logger("service")


class Pipeline:
    """Opens bus and store, builds the named stages and drives them in one thread."""

    def __init__(self, settings: Settings, workers: Sequence[str]) -> None:
        self.settings = settings
        self.bus = open_bus(settings)
        self.store = open_store(settings)
        self.runners: list[Runner] = []
        self.stop = StopFlag()
        for name in dict.fromkeys(workers):
            log.info("starting worker", extra={"worker": name})
            self.runners.append(Runner(build_stage(name, settings, self.store), self.bus, settings))

    def run(
        self, *, until_idle: bool = False, on_round: Callable[[int], None] | None = None
    ) -> None:
        self.stop.install()
        run_until(
            self.runners,
            self.stop,
            until_idle=until_idle,
            wait_s=self.settings.batch_max_wait_ms / 1000,
            on_round=on_round,
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

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
