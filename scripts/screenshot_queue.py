"""The queue at 1280 x 800 for the README (docs/queue.png), in Debian's chromium.

Runs the demo pipeline on the bundled sample in a temporary data directory, lets a second
moderator (jonas) take the next item, then photographs maria's queue after she pressed ``n``:
her claim, his claim, and rows that say why.

    .venv/bin/python scripts/screenshot_queue.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from moderator_ui.accounts import Accounts  # noqa: E402
from moderator_ui.server import BackgroundServer  # noqa: E402
from pipeline.bus import open_bus  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.demo import bundled_sample  # noqa: E402
from pipeline.ingest import ingest_file  # noqa: E402
from pipeline.service import Pipeline  # noqa: E402
from pipeline.store.base import QueueQuery  # noqa: E402
from pipeline.workers import WORKER_NAMES  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.services import free_port  # noqa: E402

PASSWORD = "screenshots only"


def main() -> None:
    out = REPO / "docs" / "queue.png"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", partitions=2)
        bus = open_bus(settings)
        ingest_file(bundled_sample(), bus, settings, progress=False)
        with Pipeline(settings, WORKER_NAMES) as pipeline:
            pipeline.run(until_idle=True)
            Accounts(pipeline.store).add("maria", "moderator", PASSWORD, language="en")
            taken = pipeline.store.claim_next(QueueQuery(states=("needs_review",)), "jonas", 600)
            assert taken is not None
            port = free_port()
            server = BackgroundServer(settings, host="127.0.0.1", port=port)
            server.start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                    page = browser.new_page(
                        base_url=f"http://127.0.0.1:{port}",
                        viewport={"width": 1280, "height": 800},
                    )
                    page.goto("/login")
                    page.fill("input[name=username]", "maria")
                    page.fill("input[name=password]", PASSWORD)
                    page.keyboard.press("Enter")
                    page.wait_for_selector("header nav")
                    page.goto("/queue")
                    page.keyboard.press("n")
                    expect(page.locator("#rows tr.cursor .holder.mine")).to_be_visible()
                    page.wait_for_timeout(3800)  # the toast fades
                    page.evaluate("window.scrollTo(0, 0)")
                    page.screenshot(path=str(out))
                    print(f"wrote {out.relative_to(REPO)}")
                    browser.close()
            finally:
                server.stop()
        bus.close()


if __name__ == "__main__":
    main()
