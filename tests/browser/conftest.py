"""A served moderator UI over a processed pipeline, and a real headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright (``executable_path``; Playwright's
own browser download is never used). The UI runs in a thread on a free port; the workers run
in the test's thread when a test calls :meth:`Env.pump` (decisions are events that triage
applies, exactly as in production).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from moderator_ui.accounts import Accounts
from moderator_ui.server import BackgroundServer
from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.ingest import ingest_file
from pipeline.models.translation.install import install_model
from pipeline.service import Pipeline
from pipeline.store.base import QueueStore
from pipeline.workers import WORKER_NAMES
from tests.conftest import contribution
from tests.services import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
XSS_BODY = (
    'Look: <script>window.__pwned = "script"</script> and '
    '<img src="x" onerror="window.__pwned = \'img\'"> in a proposal about parks.'
)
FLOOD_BODY = "Vote for the new stadium now, everyone must support the stadium project today {n}"


def seed() -> list[dict]:
    rows = [
        contribution(
            n,
            body=f"Proposal {n}: we should plant more trees along the river and build cycle lanes.",
            author=f"author-{n}",
        )
        for n in range(1, 13)
    ]
    rows += [
        contribution(
            100 + n, body=FLOOD_BODY.format(n=n % 3), author=f"flooder-{n}", kind="comment"
        )
        for n in range(8)
    ]
    rows.append(contribution(200, body=XSS_BODY, author="author-x"))
    rows += [
        contribution(300 + n, body="The park needs more benches.", author="author-t")
        for n in range(2)
    ]
    return rows


@dataclass
class Env:
    settings: Settings
    url: str
    pipeline: Pipeline

    @property
    def store(self) -> QueueStore:
        return self.pipeline.store

    def pump(self) -> None:
        """Run every worker until each input event is processed (decisions applied)."""
        self.pipeline.run(until_idle=True)

    def ingest(self, rows: list[dict], name: str = "more.jsonl") -> None:
        path = self.settings.data_dir / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        bus = open_bus(self.settings)
        ingest_file(path, bus, self.settings, progress=False)
        bus.close()


@pytest.fixture(scope="module")
def ui_env(tmp_path_factory: pytest.TempPathFactory, argos_package: Path) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("ui")
    settings = Settings(
        data_dir=root / "data",
        partitions=2,
        target_languages=["en", "de"],
        retry_backoff_ms=0,
        ui_lease_ttl_s=120,
        translation_engines=["argos", "transformers"],  # installed Apertium pairs: opt in
    )
    install_model(argos_package, settings.resolved_models_dir)
    with Pipeline(settings, WORKER_NAMES) as pipeline:
        env = Env(settings, "", pipeline)
        env.ingest(seed(), "seed.jsonl")
        env.pump()
        accounts = Accounts(pipeline.store)
        for name, role, lang in (
            ("alice", "moderator", "de"),
            ("bob", "moderator", "en"),
            ("tina", "translator", "de"),
        ):
            accounts.add(name, role, PASSWORD, language=lang)
        port = free_port()
        server = BackgroundServer(settings, host="127.0.0.1", port=port)
        server.start()
        env.url = f"http://127.0.0.1:{port}"
        yield env
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while
    # it is open, which would break later tests that call asyncio.run().
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def login(browser: Browser, env: Env, name: str) -> Page:
    """A fresh browser context (its own cookies) logged in as ``name`` through the form."""
    context = browser.new_context(base_url=env.url)
    page = context.new_page()
    page.goto("/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("header nav")
    return page
