"""Screenshots of the wellbeing veil and the operations page for the README, in Debian's
chromium: ``docs/review-blurred.png`` and ``docs/operations.png``.

Runs the demo pipeline on the bundled sample in a temporary data directory, a few chunks at a
time, and serves the UI. Two things are made up for the illustration, since no toxicity model
ships and a screenshot cannot wait an hour: one item gets the toxicity score a model would
give an insult (written to the store as triage would), and the operations series is sampled
after each chunk with timestamps a minute apart. The decisions are real (three moderators
deciding through the review API, applied by triage).

    .venv/bin/python scripts/screenshots_day_b.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from moderator_ui.accounts import Accounts  # noqa: E402
from moderator_ui.audit import AuditLog  # noqa: E402
from moderator_ui.operations import KEY, NAMESPACE, take_sample  # noqa: E402
from moderator_ui.review import Review  # noqa: E402
from moderator_ui.server import BackgroundServer  # noqa: E402
from pipeline.api.context import AppContext  # noqa: E402
from pipeline.bus import open_bus  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.demo import bundled_sample  # noqa: E402
from pipeline.ingest import ingest_file  # noqa: E402
from pipeline.schemas.events import Score  # noqa: E402
from pipeline.service import Pipeline  # noqa: E402
from pipeline.store.base import QueueQuery  # noqa: E402
from pipeline.workers import WORKER_NAMES  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.services import free_port  # noqa: E402

PASSWORD = "screenshots only"
INSULT = "You are all idiots and the people who wrote this should be ashamed of themselves."
CHUNKS = 8


def main() -> None:
    out = REPO / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", partitions=2)
        lines = bundled_sample().read_text(encoding="utf-8").splitlines(keepends=True)
        bus = open_bus(settings)
        now = datetime.now(UTC)
        with Pipeline(settings, WORKER_NAMES) as pipeline:
            store = pipeline.store
            series = []
            size = -(-len(lines) // CHUNKS)
            for n in range(CHUNKS):
                chunk = Path(tmp) / f"chunk-{n}.jsonl"
                chunk.write_text("".join(lines[n * size : (n + 1) * size]), encoding="utf-8")
                ingest_file(chunk, bus, settings, progress=False)
                pipeline.run(until_idle=True)
                at = now - timedelta(minutes=CHUNKS + 2 - n)
                series.append(take_sample(store, at, bus, settings))
            store.cache_set(NAMESPACE, KEY, json.dumps(series))

            accounts = Accounts(store)
            for name, langs in (("maria", ["en", "es"]), ("jonas", ["de"]), ("lea", ["fr"])):
                accounts.add(name, "moderator", PASSWORD, language="en")
                accounts.set_languages(name, langs)
            context = AppContext(settings, store=store)
            review = Review(context, AuditLog(store))
            open_items = store.query(QueueQuery(states=("needs_review",), limit=60)).items
            for k, item in enumerate(open_items[:24]):
                review.decide(
                    item.contribution_id,
                    ("maria", "jonas", "lea")[k % 3 if k < 18 else 0],
                    "approve" if k % 4 else "escalate",
                    seen_version=item.version,
                    seen_decisions=len(item.decisions),
                    statement=None if k % 4 else "needs a second look",
                )
            pipeline.run(until_idle=True)

            target = store.query(QueueQuery(states=("needs_review",), limit=1)).items[0]
            insult = target.contribution.model_copy(update={"body": INSULT, "title": None})
            scored = target.model_copy(
                update={
                    "contribution": insult,
                    "scores": [Score(category="insult", value=0.94, model="illustration")],
                    "revision": target.revision + 1,
                }
            )
            store.save(scored, event_id="illustration-score", expected_revision=target.revision)

            port = free_port()
            server = BackgroundServer(settings, host="127.0.0.1", port=port)
            server.start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                    page = browser.new_page(
                        base_url=f"http://127.0.0.1:{port}", viewport={"width": 1360, "height": 900}
                    )
                    page.goto("/login")
                    page.fill("input[name=username]", "maria")
                    page.fill("input[name=password]", PASSWORD)
                    page.keyboard.press("Enter")
                    page.wait_for_selector("header nav")
                    page.goto(f"/items/{target.contribution_id}")
                    page.wait_for_selector(".sensitive")
                    page.screenshot(path=str(out / "review-blurred.png"))
                    print("wrote docs/review-blurred.png")
                    page.goto("/operations")
                    page.wait_for_selector("body[data-ops-ready=yes]")
                    page.screenshot(path=str(out / "operations.png"), full_page=True)
                    print("wrote docs/operations.png")
                    browser.close()
            finally:
                server.stop()
                context.close()
        bus.close()


if __name__ == "__main__":
    main()
