"""The embedded bus and store shared by many threads, and closed while they run.

The UI's request threads and live poller share one SQLite connection per process; closing it
while a thread was mid-query crashed the interpreter. Each case runs in a child process so a
crash fails the test instead of taking the test worker down.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, threading, time
    from pathlib import Path
    from pipeline.bus.base import BusUnavailable
    from pipeline.bus.embedded import EmbeddedBus
    from pipeline.store.base import StoreUnavailable
    from pipeline.store.embedded import EmbeddedStore

    def store_calls(path):
        store = EmbeddedStore(path / "s.sqlite3")
        store.cache_set("ui-live", "claims", "stamp")
        def call():
            assert store.cache_get("ui-live", "claims") == "stamp"
            store.counts()
            store.cache_set("ui-live", "other", "x")
        return store, call, StoreUnavailable

    def bus_calls(path):
        bus = EmbeddedBus(path / "b.sqlite3")
        bus.ensure_topics(["t"], 2)
        def call():
            assert bus.partitions() == {"t": 2}
            bus.topic_counts()
        return bus, call, BusUnavailable

    make = store_calls if sys.argv[1] == "store" else bus_calls
    unexpected = []
    for _ in range(40):
        owner, call, refused = make(Path(tempfile.mkdtemp()))
        def run():
            while True:
                try:
                    call()
                except refused:
                    return
                except Exception as exc:
                    unexpected.append(repr(exc))
                    return
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.002)
        owner.close()
        owner.close()
        for thread in threads:
            thread.join()
    print("unexpected:", unexpected)
    sys.exit(1 if unexpected else 0)
    """
)


@pytest.mark.parametrize("component", ["store", "bus"])
def test_closing_while_other_threads_query_refuses_them_cleanly(component: str) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _SCRIPT, component],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "unexpected: []" in done.stdout
