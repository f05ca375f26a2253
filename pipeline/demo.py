"""``hemicycle demo``: the embedded default, end to end, explained as it runs."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections import Counter
from importlib import resources
from pathlib import Path

from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.extras import install_hint, installed
from pipeline.ingest import ingest_file
from pipeline.schemas.queue import QueueItem
from pipeline.service import Pipeline
from pipeline.store.base import QueueStore
from pipeline.workers import WORKER_NAMES


def bundled_sample() -> Path:
    return Path(str(resources.files("pipeline.data") / "sample_contributions.jsonl"))


DEMO_USERS = (("moderator", "moderator"), ("translator", "translator"), ("admin", "admin"))


def demo_password(settings: Settings, store: QueueStore) -> str:
    """The demo accounts' password: made once per data directory, kept in ``demo-login.txt``."""
    from moderator_ui.accounts import Accounts

    path = settings.data_dir / "demo-login.txt"
    if path.exists():
        password = path.read_text(encoding="utf-8").strip()
    else:
        password = secrets.token_urlsafe(9)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n", encoding="utf-8")
        path.chmod(0o600)
    accounts = Accounts(store)
    for name, role in DEMO_USERS:
        if accounts.get(name) is None:
            accounts.add(name, role, password, language="en")
    return password


def start_ui(settings: Settings, store: QueueStore) -> object | None:
    """Serve the moderator UI beside the workers; None (and why) if the port is taken."""
    from moderator_ui.server import BackgroundServer

    password = demo_password(settings, store)
    host, port = settings.http_host, settings.http_port
    server = BackgroundServer(settings, host=host, port=port)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"Moderator UI not started: {exc}. Set HEMICYCLE_HTTP_PORT to a free port.")
        return None
    print(f"\nModerator UI: http://{host}:{port}/")
    print(f"  log in as moderator, translator or admin, password {password}")
    print("  (press ? in the UI for the keyboard shortcuts)")
    return server


def print_translations(items: list[QueueItem]) -> None:
    """How many translations the models made, by engine, and one of them as an example."""
    made = [t for item in items for t in item.translations if t.field == "body"]
    if not made:
        print(
            "Translations: none, no model is installed (bash scripts/install-apertium.sh "
            "installs Apertium's pairs; see the README)."
        )
        if not installed("translate"):
            print(f"  Argos and Hugging Face models need an extra: {install_hint('translate')}")
        return
    engines = Counter(t.engine or "?" for t in made)
    print(
        f"Translations: {len(made)} bodies ("
        + ", ".join(f"{engine} {n}" for engine, n in engines.most_common())
        + f") into {len({t.target_language for t in made})} languages"
    )
    for item in items:
        english = [t for t in item.translations if t.field == "body" and t.target_language == "en"]
        if english:
            route = "→".join(english[0].route)
            print(f"  e.g. {item.contribution_id} ({route}): {english[0].text[:90]}")
            break


def run_demo(settings: Settings, *, sample: Path | None = None, until_idle: bool = False) -> int:
    if "HEMICYCLE_LOG_LEVEL" not in os.environ:
        logging.getLogger("hemicycle").setLevel(logging.WARNING)
    print("Hemicycle demo: embedded bus and store (no Kafka, no Redis, nothing downloaded)")
    print(f"  data directory: {settings.data_dir.resolve()}")
    print(f"  languages:      {', '.join(settings.target_languages)}")
    bus = open_bus(settings)
    submitted = settings.topic("submitted")
    if sample is not None or bus.topic_counts().get(submitted, 0) == 0:
        path = sample or bundled_sample()
        report = ingest_file(path, bus, settings, progress=False)
        print(
            f"Ingested {report.accepted} contributions from {path.name} into {submitted}"
            + (f" ({len(report.rejected)} lines rejected)" if report.rejected else "")
        )
        for number, reason in report.rejected:
            print(f"  line {number}: {reason}")
    else:
        print(
            f"Sample already ingested ({bus.topic_counts()[submitted]} events on {submitted}); "
            "reusing it. Delete the data directory to start afresh."
        )
    bus.close()

    print("Loading language identification: fastText lid.176 with a lingua second opinion …")
    started = time.perf_counter()
    with Pipeline(settings, WORKER_NAMES) as pipeline:
        print(f"Workers ready in {time.perf_counter() - started:.1f} s: {', '.join(WORKER_NAMES)}")
        ui = None if until_idle else start_ui(settings, pipeline.store)
        langid = pipeline.runners[0]
        state = {"shown": 0, "reported": False}

        def on_round(handled: int) -> None:
            fresh = langid.stats.events - state["shown"]
            if handled == 0 and fresh and all(r.lag() == 0 for r in pipeline.runners):
                print_summary(pipeline.store, fresh)
                state["shown"] = langid.stats.events
                if not until_idle and not state["reported"]:
                    print(
                        "\nWaiting for more: open the moderator UI above, run `hemicycle ingest "
                        "FILE.jsonl` in another terminal, or `hemicycle export` / `hemicycle "
                        "status`. Ctrl-C stops."
                    )
                    state["reported"] = True

        try:
            pipeline.run(until_idle=until_idle, on_round=on_round)
        finally:
            if ui is not None:
                ui.stop()  # type: ignore[attr-defined]
    print("Stopped. Everything processed is committed; the next start resumes from there.")
    return 0


def print_summary(store: QueueStore, handled: int, *, rows: int = 12) -> None:
    items = list(store.iter_items())
    by_state = Counter(item.state for item in items)
    by_lang = Counter(item.language_code or "unknown" for item in items)
    unreliable = sum(1 for item in items if item.language and not item.language.reliable)
    print(
        f"\nIdentified {handled} contributions. Queue: "
        + ", ".join(f"{state} {n}" for state, n in by_state.most_common())
    )
    print("Languages: " + ", ".join(f"{lang} {n}" for lang, n in sorted(by_lang.items())))
    print(f"Unreliable identifications (short, mixed, unknown): {unreliable}")
    print_translations(items)
    print(f"\n  {'contribution':<26} {'lang':<5} {'conf':>5}  {'state':<13} text / why")
    flagged = store.list_items(state="auto_hidden", limit=rows) + store.list_items(
        state="needs_review", order="priority", limit=rows
    )
    for item in flagged[:rows]:
        lang = item.language
        text = " ".join(item.contribution.text.split())
        code = (lang.lang or "?") if lang else "-"
        conf = f"{lang.confidence:.2f}" if lang else "-"
        flag = "" if lang is None or lang.reliable else f" [{lang.reason}]"
        why = [r for r in item.reasons if not r.startswith("toxicity not scored")]
        print(
            f"  {item.contribution_id[:26]:<26} {code:<5} {conf:>5}  {item.state:<13} "
            f"{text[:50]}{flag}"
        )
        if why:
            print(f"  {'':<26} {'':<5} {'':>5}  {'':<13} ↳ {'; '.join(why)[:90]}")
    if any(not i.toxicity_available for i in items if i.scored):
        print(
            "\nNo toxicity model is configured, so nothing is auto-approved: see the README "
            "(HEMICYCLE_TOXICITY_CHECKPOINT) to install one."
        )
        if not installed("score"):
            print(f"  Scoring with one needs an extra: {install_hint('score')}")
