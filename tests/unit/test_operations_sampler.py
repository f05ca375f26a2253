"""The operations sampler stops before the app closes its store (a closed SQLite connection
under a write crashed the process)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from moderator_ui.operations import Sampler, samples
from pipeline.store.embedded import EmbeddedStore


def test_stop_waits_for_the_sample_in_progress(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store.sqlite3")

    async def run() -> None:
        sampler = Sampler(store, every_s=0.001)
        for _ in range(20):  # start and stop while samples are being written
            sampler.start()
            await asyncio.sleep(0.005)
            await sampler.stop()

    asyncio.run(run())
    assert samples(store)  # it sampled, and nothing runs any more
    store.close()
