"""Slow and half-open clients against a real ``hemicycle serve`` (issue 12, item 5).

A body announced but not sent, a request head that never ends, a connection that sends
nothing: each gets 408 (or is closed) once its timeout passes. Half-open connections past
``HEMICYCLE_HTTP_MAX_CONNECTIONS`` close the oldest, so even a server short of file
descriptors still answers ``/healthz``. No timing is asserted: the socket timeouts only
bound a failing test.
"""

from __future__ import annotations

import http.client
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration.conftest import REPO, base_env, hemicycle
from tests.services import free_port

FD_LIMIT = 256


@dataclass
class Served:
    port: int
    key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module: each test's connections end before the next test starts."""
    embedded_env = base_env(HEMICYCLE_DATA_DIR=str(tmp_path_factory.mktemp("slow") / "data"))
    key = hemicycle(embedded_env, "apikeys", "create", "decidim-test").stdout.strip()
    port = free_port()
    env = {
        **embedded_env,
        "HEMICYCLE_HTTP_PORT": str(port),
        "HEMICYCLE_HTTP_HEADER_TIMEOUT_S": "1",
        "HEMICYCLE_HTTP_BODY_TIMEOUT_S": "1",
        "HEMICYCLE_HTTP_MAX_CONNECTIONS": "100",
    }

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=few_descriptors,
    )
    deadline = time.monotonic() + 60
    while not healthz_ok(port, timeout_s=1):
        assert proc.poll() is None, "hemicycle serve exited"
        assert time.monotonic() < deadline, "hemicycle serve did not start"
        time.sleep(0.2)
    yield Served(port, key)
    proc.terminate()
    proc.wait(30)


def healthz_ok(port: int, timeout_s: float = 30) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def answer_of(port: int, sent: bytes) -> bytes:
    """What the server sends back before it closes a connection that sent only ``sent``."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        if sent:
            sock.sendall(sent)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        return received


def test_a_partial_body_gets_408_and_a_closed_connection(served: Served) -> None:
    head = (
        b"POST /v1/contributions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {served.key}\r\nContent-Length: 100000\r\n\r\n".encode()
    )
    answer = answer_of(served.port, head + b'{"id": "c-')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_request_head_that_never_ends_gets_408(served: Served) -> None:
    answer = answer_of(served.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    assert answer_of(served.port, b"").startswith(b"HTTP/1.1 408")


def test_half_open_connections_do_not_starve_healthz(served: Served) -> None:
    server = served.port
    idle = []
    try:
        for _ in range(2 * FD_LIMIT):
            idle.append(socket.create_connection(("127.0.0.1", server), timeout=30))
            idle[-1].sendall(b"GET /healthz HTTP/1.1\r\n")
        assert healthz_ok(server)
    finally:
        for sock in idle:
            sock.close()
