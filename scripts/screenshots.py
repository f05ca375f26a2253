"""Screenshots of the moderator UI for the README (docs/*.png), in Debian's chromium.

Runs the demo pipeline on the bundled sample in a temporary data directory, serves the UI,
and photographs the queue, a review page and the translator workspace. No translation model
ships, so two English translations written for this illustration are published as
``ContributionTranslated`` events (engine ``illustration``) to show the side-by-side views.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from moderator_ui.accounts import Accounts  # noqa: E402
from moderator_ui.server import BackgroundServer  # noqa: E402
from pipeline.bus import open_bus  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.demo import bundled_sample  # noqa: E402
from pipeline.ingest import ingest_file  # noqa: E402
from pipeline.schemas import ContributionTranslated, Translation  # noqa: E402
from pipeline.service import Pipeline  # noqa: E402
from pipeline.workers import WORKER_NAMES  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.services import free_port  # noqa: E402

ILLUSTRATION = {
    "decidim-eu:dec-1002": (
        "An EU-wide climate ticket for local transport and regional trains",
        "The Deutschlandticket has shown that a simple, cheap ticket gets many people to "
        "switch. I propose a European climate ticket valid for regional trains and local "
        "transport in all participating countries.\n\nIn border regions like here on the Upper "
        "Rhine it would be a huge gain: today 40 kilometres often take three different tickets.",
    ),
}
PASSWORD = "screenshots only"


def main() -> None:
    out = REPO / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", partitions=2)
        bus = open_bus(settings)
        ingest_file(bundled_sample(), bus, settings, progress=False)
        with Pipeline(settings, WORKER_NAMES) as pipeline:
            pipeline.run(until_idle=True)
            producer = bus.producer()
            for cid, (title, body) in ILLUSTRATION.items():
                item = pipeline.store.get(cid)
                assert item is not None and item.language_code
                event = ContributionTranslated(
                    contribution_id=cid,
                    contribution_version=item.version,
                    source_language=item.language_code,
                    translations=[
                        Translation(field="title", target_language="en", text=title,
                                    origin="machine", engine="illustration"),
                        Translation(field="body", target_language="en", text=body,
                                    origin="machine", engine="illustration"),
                    ],
                )  # fmt: skip
                producer.publish(settings.topic("translated"), cid, event.to_json())
            producer.flush()
            pipeline.run(until_idle=True)
            accounts = Accounts(pipeline.store)
            accounts.add("maria", "moderator", PASSWORD, language="en")
            accounts.add("tomas", "translator", PASSWORD, language="en")
            pipeline.store.claim("decidim-eu:dec-1001", "jonas", 600)
            port = free_port()
            server = BackgroundServer(settings, host="127.0.0.1", port=port)
            server.start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                    shown = next(iter(ILLUSTRATION))
                    for name, shots in (
                        ("maria", [("/queue", "queue.png"), (f"/items/{shown}", "item.png")]),
                        ("tomas", [(f"/translate/item/{shown}?lang=en", "translator.png")]),
                    ):
                        page = browser.new_page(
                            base_url=f"http://127.0.0.1:{port}",
                            viewport={"width": 1360, "height": 900},
                        )
                        page.goto("/login")
                        page.fill("input[name=username]", name)
                        page.fill("input[name=password]", PASSWORD)
                        page.keyboard.press("Enter")
                        page.wait_for_selector("header nav")
                        for path, file in shots:
                            page.goto(path)
                            page.wait_for_timeout(300)
                            if file == "queue.png":
                                page.keyboard.press("j")
                                page.keyboard.press("x")
                                page.keyboard.press("j")
                                page.evaluate("window.scrollTo(0, 0)")
                            page.screenshot(path=str(out / file))
                            print(f"wrote docs/{file}")
                        page.close()
                    browser.close()
            finally:
                server.stop()
        bus.close()


if __name__ == "__main__":
    main()
