"""`hemicycle demo` serves the UI and prints a login; `hemicycle serve` runs it alone."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx

from tests.integration.conftest import hemicycle, start
from tests.services import free_port


def wait_for(log: Path, pattern: str, timeout_s: float = 120) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not in:\n{log.read_text(errors='replace')}")


def log_in(base: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token[1]}
    )
    assert answer.status_code == 303, answer.text
    return client


def test_demo_serves_the_ui_and_prints_a_login(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = dict(embedded_env, HEMICYCLE_HTTP_PORT=str(port))
    log = tmp_path / "demo.log"
    proc = start(env, "demo", log=log)
    try:
        login = wait_for(log, r"log in as moderator, translator or admin, password (\S+)")
        assert f"http://127.0.0.1:{port}/" in log.read_text()
        wait_for(log, r"Identified \d+ contributions")
        client = log_in(f"http://127.0.0.1:{port}", "moderator", login[1])
        queue = client.get("/queue")
        client.close()
        assert queue.status_code == 200
        assert queue.text.count("data-cid=") == 50
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    # The same login works on the next start (kept in the data directory).
    assert (Path(env["HEMICYCLE_DATA_DIR"]) / "demo-login.txt").read_text().strip() == login[1]


def test_serve_runs_the_app_alone_and_stops_on_sigterm(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    hemicycle(embedded_env, "users", "add", "ana", "--role", "admin", "--password-stdin",
              input="a long password\n")  # fmt: skip
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start(embedded_env, "serve", "--port", str(port), log=log)
    try:
        wait_for(log, rf"moderator UI at http://127\.0\.0\.1:{port}/")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/docs").status_code == 200
        client = log_in(base, "ana", "a long password")
        assert client.get("/audit").status_code == 200
        assert "login" in client.get("/audit.csv").text
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
