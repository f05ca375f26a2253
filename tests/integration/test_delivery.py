"""The delivery worker against a real local HTTP server, on the embedded bus and store.

The server (``http.server`` in a thread) records every request and can be told to fail the
next N requests, or every request, with a given status. Backoff is shrunk to milliseconds.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.bus.embedded import EmbeddedBus
from pipeline.cli import main
from pipeline.config import TOPICS, Settings
from pipeline.delivery.deliverer import SENT, Deliverer
from pipeline.delivery.payloads import build_payload
from pipeline.delivery.sender import WebhookSender
from pipeline.delivery.signing import verify
from pipeline.delivery.webhooks import WebhookConfigError, load_webhooks
from pipeline.languages import EU_LANGUAGES
from pipeline.schemas import (
    ContributionTranslated,
    DeadLetter,
    ModerationOutcome,
    Translation,
    UnavailableTranslation,
)
from pipeline.schemas.envelope import Envelope
from pipeline.schemas.moderation import AppealDecided, AppealFiled
from pipeline.store import open_store
from pipeline.store.base import QueueStore
from pipeline.workers import OPTIONAL_WORKERS, WORKER_NAMES, build_stage, default_workers
from pipeline.workers.delivery import DeliveryStage
from pipeline.workers.runner import Runner, StopFlag, run_until
from pipeline.workers.triage import TriageStage

SECRET = "s3cret-for-decidim-test"
OTHER_SECRET = "another-secret"
PLATFORM = "decidim-test"
CID_1 = f"{PLATFORM}:c-1"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class HookServer:
    """A webhook receiver: records requests; fails ``fail_next`` of them, or all with
    ``always``; answers ``status`` to the others."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    always: int | None = None
    retry_after: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/hemicycle"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            if self.always is not None:
                status = self.always
            elif self.fail_next > 0:
                self.fail_next -= 1
                status = self.fail_status
            else:
                status = 200
            self.requests.append(Received(path, headers, body, status))
            return status

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


def start_hook_server() -> HookServer:
    holder: dict[str, HookServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = holder["hook"].answer(self.path, dict(self.headers.items()), body)
            reply = b'{"ok": true}' if status < 300 else b'{"error": "try later"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            if status >= 300 and holder["hook"].retry_after is not None:
                self.send_header("Retry-After", holder["hook"].retry_after)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["hook"] = HookServer(server)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return holder["hook"]


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = start_hook_server()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def webhooks_file(tmp_path: Path, hook: HookServer) -> Path:
    path = tmp_path / "webhooks.toml"
    path.write_text(
        f'[platforms.{PLATFORM}]\nurl = "{hook.url}"\nsecret = "{SECRET}"\n', encoding="utf-8"
    )
    return path


@pytest.fixture
def dsettings(settings: Settings, webhooks_file: Path) -> Settings:
    return settings.model_copy(
        update={
            "webhooks_file": webhooks_file,
            "delivery_max_attempts": 3,
            "delivery_backoff_max_s": 0.01,
            "delivery_timeout_s": 5.0,
        }
    )


@pytest.fixture
def bus(dsettings: Settings) -> Iterator[EmbeddedBus]:
    dsettings.data_dir.mkdir(parents=True, exist_ok=True)
    bus = EmbeddedBus(dsettings.data_dir / "bus.sqlite3")
    bus.ensure_topics([dsettings.topic(t) for t in TOPICS], dsettings.partitions)
    yield bus
    bus.close()


@pytest.fixture
def store(dsettings: Settings) -> Iterator[QueueStore]:
    store = open_store(dsettings)
    yield store
    store.close()


@pytest.fixture
def cli_env(dsettings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment that makes ``hemicycle`` (in-process) see the test's bus and store."""
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(dsettings.data_dir))
    monkeypatch.setenv("HEMICYCLE_PARTITIONS", str(dsettings.partitions))
    monkeypatch.setenv("HEMICYCLE_WEBHOOKS_FILE", str(dsettings.webhooks_file))
    monkeypatch.setenv("HEMICYCLE_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("HEMICYCLE_DELIVERY_BACKOFF_MAX_S", "0.01")
    monkeypatch.setenv("HEMICYCLE_LOG_LEVEL", "ERROR")


def outcome(n: int = 1, *, platform: str = PLATFORM, **overrides: Any) -> ModerationOutcome:
    fields: dict[str, Any] = {
        "contribution_id": f"{platform}:c-{n}",
        "contribution_version": 2,
        "platform": platform,
        "outcome": "hidden",
        "automatic": True,
        "reasons": ["toxicity 0.97 ≥ 0.90 (policy: default)"],
    }
    fields.update(overrides)
    return ModerationOutcome(**fields)


def translated(n: int = 1) -> ContributionTranslated:
    return ContributionTranslated(
        contribution_id=f"{PLATFORM}:c-{n}",
        contribution_version=1,
        source_language="de",
        translations=[
            Translation(field="body", target_language="fr", text="Plus de trains de nuit.",
                        origin="machine", engine="ctranslate2", model_id="de-fr"),
            Translation(field="title", target_language="en", text="Night trains",
                        origin="human"),
        ],
        unavailable=[UnavailableTranslation(target_language="ga", reason="no model de→ga")],
    )  # fmt: skip


def publish(bus: EmbeddedBus, settings: Settings, *events: Envelope) -> None:
    producer = bus.producer()
    for event in events:
        producer.publish(
            settings.topic_of(event.type), event.contribution_id, event.to_json(), event.headers()
        )
    producer.flush()


def run_delivery(
    bus: EmbeddedBus, settings: Settings, store: QueueStore, stage: DeliveryStage | None = None
) -> Runner:
    stage = stage or DeliveryStage.from_settings(settings, store)
    runner = Runner(stage, bus, settings)
    try:
        run_until([runner], StopFlag(), until_idle=True, wait_s=0.01)
    finally:
        runner.close()
    return runner


def dead_letters(bus: EmbeddedBus, settings: Settings) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(r.value) for r in bus.read(settings.topic("deadletter"))]


def assert_signed(request: Received, secret: str = SECRET) -> None:
    assert verify(secret, request.body, request.headers["X-Hemicycle-Signature"])


# -- delivered ---------------------------------------------------------------------------------


def test_an_outcome_is_posted_as_signed_json(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    event = outcome(reason_code="spam", decided_by=None)
    publish(bus, dsettings, event)
    runner = run_delivery(bus, dsettings, store)

    (request,) = hook.requests
    assert request.path == "/hooks/hemicycle"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Hemicycle-Event-Id"] == str(event.event_id)
    assert request.headers["X-Hemicycle-Event-Type"] == "moderation.outcome"
    assert_signed(request)
    assert not verify(OTHER_SECRET, request.body, request.headers["X-Hemicycle-Signature"])
    body = json.loads(request.body)
    assert body == {
        "type": "moderation.outcome",
        "event_id": str(event.event_id),
        "platform": PLATFORM,
        "contribution": {"id": "c-1", "version": 2},
        "outcome": "hidden",
        "automatic": True,
        "reasons": ["toxicity 0.97 ≥ 0.90 (policy: default)"],
        "reason_code": "spam",
        "decided_by": None,
        "occurred_at": body["occurred_at"],
        "statement_of_reasons": None,
    }
    assert body["occurred_at"].startswith(event.occurred_at.isoformat()[:19])
    assert dead_letters(bus, dsettings) == []
    assert runner.lag() == 0
    assert store.cache_get(SENT, str(event.event_id)) == "1"


def test_translations_are_posted_with_the_platform_id(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    event = translated(7)
    publish(bus, dsettings, event)
    run_delivery(bus, dsettings, store)
    (request,) = hook.requests
    assert_signed(request)
    assert request.headers["X-Hemicycle-Event-Type"] == "translation.result"
    body = json.loads(request.body)
    assert body["type"] == "translation.result"
    assert body["event_id"] == str(event.event_id)
    assert body["platform"] == PLATFORM
    assert body["contribution"] == {"id": "c-7", "version": 1}
    assert body["source_language"] == "de"
    assert body["translations"] == [
        {"field": "body", "target_language": "fr", "text": "Plus de trains de nuit.",
         "origin": "machine"},
        {"field": "title", "target_language": "en", "text": "Night trains", "origin": "human"},
    ]  # fmt: skip
    assert body["unavailable"] == [{"target_language": "ga", "reason": "no model de→ga"}]


def translated_everywhere(n: int) -> ContributionTranslated:
    """What the translator emits for a German contribution: every target language at once."""
    return ContributionTranslated(
        contribution_id=f"{PLATFORM}:c-{n}",
        contribution_version=1,
        source_language="de",
        translations=[
            Translation(field=name, target_language=lang, text=f"{name} {n} in {lang}",
                        origin="machine", engine="argos", model_id=f"de-{lang}")
            for lang in EU_LANGUAGES if lang not in ("de", "ga")
            for name in ("title", "body")
        ],
        unavailable=[UnavailableTranslation(target_language="ga", reason="no model de→ga")],
    )  # fmt: skip


def test_every_language_of_a_contribution_is_one_webhook(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    events = [translated_everywhere(n) for n in range(1, 4)]
    publish(bus, dsettings, *events, outcome(1))
    run_delivery(bus, dsettings, store)
    bodies = [json.loads(r.body) for r in hook.requests]
    translations = [b for b in bodies if b["type"] == "translation.result"]
    assert sorted(b["event_id"] for b in translations) == sorted(str(e.event_id) for e in events)
    languages = set(EU_LANGUAGES) - {"de", "ga"}
    for body in translations:
        assert len(body["translations"]) == 2 * len(languages) == 44
        assert {t["target_language"] for t in body["translations"]} == languages
        assert body["unavailable"] == [{"target_language": "ga", "reason": "no model de→ga"}]
    assert len(bodies) == 4  # three contributions' translations and one outcome
    publish(bus, dsettings, *events)  # replayed: nothing is posted again
    run_delivery(bus, dsettings, store)
    assert len(hook.requests) == 4


def test_two_failures_then_success_deliver_exactly_once(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    hook.fail_next = 2
    publish(bus, dsettings, outcome())
    runner = run_delivery(bus, dsettings, store)
    assert [r.status for r in hook.requests] == [500, 500, 200]
    assert len(hook.delivered()) == 1
    assert [r.headers["X-Hemicycle-Delivery-Attempt"] for r in hook.requests] == ["1", "2", "3"]
    for request in hook.requests:
        assert_signed(request)  # each attempt signed afresh
    assert len({r.body for r in hook.requests}) == 1
    assert dead_letters(bus, dsettings) == []
    assert runner.stats.retries == 0  # the sender retried; the runner had nothing to redo


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_transient_statuses_are_retried(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer, status: int
) -> None:
    hook.fail_next, hook.fail_status = 1, status
    publish(bus, dsettings, outcome())
    run_delivery(bus, dsettings, store)
    assert [r.status for r in hook.requests] == [status, 200]
    assert dead_letters(bus, dsettings) == []


def test_retry_after_lengthens_the_wait_up_to_the_backoff_limit(
    dsettings: Settings, hook: HookServer
) -> None:
    webhook = load_webhooks(dsettings.webhooks_file).platforms[PLATFORM]  # type: ignore[arg-type]
    payload = build_payload(outcome())
    for retry_after, backoff_max, expected in (("2", 5.0, 2.0), ("120", 5.0, 5.0)):
        hook.requests.clear()
        hook.fail_next, hook.fail_status, hook.retry_after = 1, 429, retry_after
        waits: list[float] = []
        sender = WebhookSender(max_attempts=3, backoff_max_s=backoff_max, sleep=waits.append)
        receipt = sender.send(webhook, payload)
        sender.close()
        assert (receipt.status_code, receipt.attempts) == (200, 2)
        assert waits == [expected]


def test_a_replayed_batch_is_not_posted_twice(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    event = outcome()
    publish(bus, dsettings, event, event)  # at-least-once upstream: the same event twice
    run_delivery(bus, dsettings, store)
    publish(bus, dsettings, event)  # and once more, later
    run_delivery(bus, dsettings, store)
    assert len(hook.requests) == 1


# -- dead-lettered and replayed ----------------------------------------------------------------


def test_a_server_always_failing_dead_letters_with_the_reason_then_retry_delivers_once(
    bus: EmbeddedBus,
    dsettings: Settings,
    store: QueueStore,
    hook: HookServer,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hook.always = 500
    event = outcome(outcome="approved", automatic=False, decided_by="mod-1")
    publish(bus, dsettings, event)
    runner = run_delivery(bus, dsettings, store)

    assert len(hook.requests) == dsettings.delivery_max_attempts == 3
    (letter,) = dead_letters(bus, dsettings)
    assert letter.error_type == "processing_failed"
    assert letter.reason.startswith(f"DeliveryFailed: webhook {hook.url} answered 500 after 3 ")
    assert "try later" in letter.reason  # the start of the platform's answer
    assert letter.origin.stage == "delivery"
    assert letter.origin.topic == dsettings.topic("outcomes")
    assert letter.contribution_id == event.contribution_id
    assert ModerationOutcome.model_validate_json(letter.raw_payload) == event
    assert runner.lag() == 0  # dead-lettered and committed: the worker went on

    # Still failing: the replay reports it and exits 1.
    assert main(["deliveries", "retry"]) == 1
    out = capsys.readouterr().out
    assert f"failed {event.event_id}" in out
    assert "answered 500 after 3 attempts" in out
    assert "0 delivered, 1 failed" in out
    assert len(hook.requests) == 6

    # A dry run sends nothing.
    hook.always = None
    assert main(["deliveries", "retry", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would retry {event.event_id}" in out and hook.url in out
    assert len(hook.requests) == 6

    # Fixed: delivered once …
    assert main(["deliveries", "retry"]) == 0
    out = capsys.readouterr().out
    assert f"delivered {event.event_id}" in out
    assert "1 delivered, 0 failed" in out
    (request,) = hook.delivered()
    assert_signed(request)
    assert json.loads(request.body)["outcome"] == "approved"

    # … and not again.
    assert main(["deliveries", "retry"]) == 0
    out = capsys.readouterr().out
    assert "0 delivered, 0 failed; 1 delivered earlier" in out
    assert len(hook.delivered()) == 1


def test_retry_can_be_limited_to_one_platform(
    tmp_path: Path,
    bus: EmbeddedBus,
    dsettings: Settings,
    store: QueueStore,
    hook: HookServer,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = start_hook_server()
    try:
        path = tmp_path / "two.toml"
        path.write_text(
            f'[platforms.{PLATFORM}]\nurl = "{hook.url}"\nsecret = "{SECRET}"\n'
            f'[platforms.other]\nurl = "{other.url}"\nsecret = "{OTHER_SECRET}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("HEMICYCLE_WEBHOOKS_FILE", str(path))
        two = dsettings.model_copy(update={"webhooks_file": path})
        hook.always = other.always = 503
        publish(bus, two, outcome(1), outcome(2, platform="other"))
        run_delivery(bus, two, store)
        assert len(dead_letters(bus, two)) == 2

        hook.always = other.always = None
        assert main(["deliveries", "retry", "--platform", "other"]) == 0
        assert "1 delivered, 0 failed" in capsys.readouterr().out
        assert len(other.delivered()) == 1 and hook.delivered() == []
        assert_signed(other.delivered()[0], OTHER_SECRET)
        assert main(["deliveries", "retry"]) == 0
        assert "1 delivered, 0 failed; 1 delivered earlier" in capsys.readouterr().out
        assert len(other.delivered()) == 1 and len(hook.delivered()) == 1
    finally:
        other.server.shutdown()
        other.server.server_close()


def test_a_replayed_outcome_never_undoes_a_later_one(
    bus: EmbeddedBus,
    dsettings: Settings,
    store: QueueStore,
    hook: HookServer,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hidden = outcome(outcome="hidden")
    hook.always = 500
    publish(bus, dsettings, hidden)
    run_delivery(bus, dsettings, store)
    hook.always = None
    approved = outcome(outcome="approved", automatic=False, decided_by="mod-1")
    publish(bus, dsettings, approved)
    run_delivery(bus, dsettings, store)
    assert [json.loads(r.body)["outcome"] for r in hook.delivered()] == ["approved"]

    assert main(["deliveries", "retry"]) == 0
    out = capsys.readouterr().out
    assert f"skipped {hidden.event_id}" in out and "superseded" in out
    assert [json.loads(r.body)["outcome"] for r in hook.delivered()] == ["approved"]


def test_a_permanent_4xx_is_not_retried(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    hook.always = 404
    publish(bus, dsettings, outcome())
    run_delivery(bus, dsettings, store)
    assert len(hook.requests) == 1
    (letter,) = dead_letters(bus, dsettings)
    assert "answered 404" in letter.reason and "permanent" in letter.reason
    assert letter.origin.stage == "delivery"


def test_an_unreachable_endpoint_is_dead_lettered(
    tmp_path: Path, bus: EmbeddedBus, dsettings: Settings, store: QueueStore
) -> None:
    closed = start_hook_server()
    url = closed.url
    closed.server.shutdown()
    closed.server.server_close()
    path = tmp_path / "closed.toml"
    path.write_text(f'[platforms.{PLATFORM}]\nurl = "{url}"\nsecret = "x"\n', encoding="utf-8")
    settings = dsettings.model_copy(update={"webhooks_file": path})
    publish(bus, settings, outcome())
    run_delivery(bus, settings, store)
    (letter,) = dead_letters(bus, settings)
    assert f"webhook {url} unreachable (ConnectError" in letter.reason
    assert "after 3 attempts" in letter.reason


def test_one_failing_platform_does_not_hold_back_or_duplicate_the_others(
    tmp_path: Path, bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    down = start_hook_server()
    down.always = 500
    try:
        path = tmp_path / "two.toml"
        path.write_text(
            f'[platforms.{PLATFORM}]\nurl = "{hook.url}"\nsecret = "{SECRET}"\n'
            f'[platforms.down]\nurl = "{down.url}"\nsecret = "x"\n',
            encoding="utf-8",
        )
        settings = dsettings.model_copy(update={"webhooks_file": path})
        good = [outcome(n) for n in range(1, 5)]
        bad = outcome(9, platform="down")
        publish(bus, settings, good[0], good[1], bad, good[2], good[3])
        runner = run_delivery(bus, settings, store)
        # The runner re-ran the failed batch event by event: no second POST for the others.
        assert sorted(json.loads(r.body)["event_id"] for r in hook.requests) == sorted(
            str(e.event_id) for e in good
        )
        assert len(down.requests) == 3
        (letter,) = dead_letters(bus, settings)
        assert letter.contribution_id == bad.contribution_id
        assert letter.reason.startswith(f"DeliveryFailed: webhook {down.url} answered 500")
        assert runner.lag() == 0
    finally:
        down.server.shutdown()
        down.server.server_close()


def test_a_dead_endpoint_is_not_hammered_once_per_event(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    hook.always = 500
    deliverer = Deliverer(
        load_webhooks(dsettings.webhooks_file),  # type: ignore[arg-type]
        WebhookSender.from_settings(dsettings),
        store,
        concurrency=1,
        breaker_s=60,
    )
    events = [outcome(n) for n in range(6)]
    publish(bus, dsettings, *events)
    run_delivery(bus, dsettings, store, DeliveryStage(deliverer))
    assert len(hook.requests) == 3  # the first event's attempts; the others not attempted
    letters = dead_letters(bus, dsettings)
    assert sorted(letter.contribution_id for letter in letters) == sorted(
        e.contribution_id for e in events
    )
    reasons = sorted(letter.reason for letter in letters)
    assert sum("answered 500 after 3 attempts" in r for r in reasons) == len(events)
    assert sum("not attempted" in r for r in reasons) == len(events) - 1


# -- skipped -----------------------------------------------------------------------------------


def test_a_platform_without_webhook_is_skipped_not_dead_lettered(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("hemicycle.delivery")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        publish(bus, dsettings, outcome(1, platform="unconfigured"), outcome(2))
        runner = run_delivery(bus, dsettings, store)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [json.loads(r.body)["contribution"]["id"] for r in hook.requests] == ["c-2"]
    assert dead_letters(bus, dsettings) == []
    assert runner.lag() == 0
    assert any("no webhook configured for platform 'unconfigured'" in r.getMessage()
               for r in records)  # fmt: skip


def test_events_a_platform_did_not_subscribe_to_are_skipped(
    tmp_path: Path, bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    path = tmp_path / "outcomes-only.toml"
    path.write_text(
        f'[platforms.{PLATFORM}]\nurl = "{hook.url}"\nsecret = "{SECRET}"\nevents = ["outcomes"]\n',
        encoding="utf-8",
    )
    settings = dsettings.model_copy(update={"webhooks_file": path})
    publish(bus, settings, translated(1), outcome(1))
    run_delivery(bus, settings, store)
    assert [r.headers["X-Hemicycle-Event-Type"] for r in hook.requests] == ["moderation.outcome"]
    assert dead_letters(bus, settings) == []


# -- configuration and registration ------------------------------------------------------------


def test_webhook_config_errors_name_the_platform_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[platforms.decidim-bcn]\nurl = "ftp://files.example.org"\nsecret = ""\n'
        'events = ["outcomes", "decisions"]\n'
        '[platforms.coral]\nsecret = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(WebhookConfigError) as err:
        load_webhooks(path)
    message = str(err.value)
    assert str(path) in message
    assert "platforms.decidim-bcn.url: must be an http:// or https:// URL" in message
    assert "platforms.decidim-bcn.secret: must not be empty" in message
    assert "platforms.decidim-bcn.events.1:" in message
    assert "platforms.coral.url: Field required" in message

    path.write_text("[platforms.x\n", encoding="utf-8")
    with pytest.raises(WebhookConfigError, match="not valid TOML"):
        load_webhooks(path)
    with pytest.raises(WebhookConfigError, match="no such file"):
        load_webhooks(tmp_path / "missing.toml")


def test_webhook_urls_in_reasons_hide_credentials_and_query(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        '[platforms.p]\nurl = "https://user:pw@hooks.example.org:8443/in?token=abc"\n'
        'secret = "s"\n',
        encoding="utf-8",
    )
    webhook = load_webhooks(path).platforms["p"]
    assert webhook.display_url == "https://hooks.example.org:8443/in"
    assert webhook.events == ("outcomes", "translations", "notices")  # all by default
    assert "s" not in repr(webhook.secret)


def test_the_delivery_worker_is_optional_and_needs_a_webhooks_file(
    settings: Settings, dsettings: Settings, store: QueueStore
) -> None:
    assert "delivery" not in WORKER_NAMES
    assert OPTIONAL_WORKERS == ("delivery",)
    assert default_workers(settings) == WORKER_NAMES
    assert default_workers(dsettings) == (*WORKER_NAMES, "delivery")
    stage = build_stage("delivery", dsettings, store)
    assert isinstance(stage, DeliveryStage)
    stage.close()
    with pytest.raises(WebhookConfigError, match="HEMICYCLE_WEBHOOKS_FILE is not set"):
        build_stage("delivery", settings, store)


def test_retry_without_webhooks_file_is_a_usage_error(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HEMICYCLE_LOG_LEVEL", "ERROR")
    assert main(["deliveries", "retry"]) == 2
    assert "HEMICYCLE_WEBHOOKS_FILE is not set" in capsys.readouterr().err


# -- the moderation of record ------------------------------------------------------------------


def test_an_appeal_reversed_by_a_second_moderator_reaches_the_platform(
    bus: EmbeddedBus, dsettings: Settings, store: QueueStore, hook: HookServer
) -> None:
    """Rejected by ana (the author is told why), appealed, reversed by ben: the platform gets
    the approval and the answer to the appellant, signed, each once."""
    from tests.unit.test_triage_record import at, decided, identified, scored

    triage = TriageStage.from_settings(dsettings, store)
    first = identified()
    reject = decided("reject", "ana", 1, 0, reason_code="spam", statement="Advertising.")
    outputs = triage.process([first, scored(first), reject])
    appeal = AppealFiled(
        contribution_id=CID_1,
        contribution_version=1,
        occurred_at=at(2),
        platform=PLATFORM,
        appellant="u-1",
        statement="It is a proposal about the river.",
    )
    outputs += triage.process([appeal])
    outputs += triage.process(
        [
            AppealDecided(
                contribution_id=CID_1,
                contribution_version=1,
                occurred_at=at(3),
                appeal_id=str(appeal.event_id),
                result="reversed",
                moderator="ben",
                reply="On a second reading it is on topic.",
            )
        ]
    )
    publish(bus, dsettings, *outputs)
    run_delivery(bus, dsettings, store)
    bodies = [json.loads(r.body) for r in hook.delivered()]
    for request in hook.delivered():
        assert_signed(request)
    kinds = [(b["type"], b.get("outcome"), b.get("kind")) for b in bodies]
    assert sorted(kinds, key=str) == sorted(
        [
            ("moderation.outcome", "approved", None),  # the automatic approval
            ("moderation.outcome", "rejected", None),
            ("party.notice", "rejected", "restriction"),
            ("moderation.outcome", "approved", None),  # the reversal
            ("party.notice", "reversed", "appeal_decided"),
        ],
        key=str,
    )
    rejected = next(
        b for b in bodies if b.get("outcome") == "rejected" and b["type"] != "party.notice"
    )
    statement = rejected["statement_of_reasons"]
    assert (statement["restriction"], statement["category"]) == ("rejected", "spam")
    assert "decided_by" not in statement  # no moderator names leave
    answer = next(b for b in bodies if b.get("kind") == "appeal_decided")
    assert (answer["recipient_role"], answer["recipient"], answer["message"]) == (
        "author",
        "u-1",
        "On a second reading it is on topic.",
    )
    assert len({b["event_id"] for b in bodies}) == len(bodies) == 5
    assert dead_letters(bus, dsettings) == []
