"""What one hostile body costs the server: a contribution with 500,000 unknown fields.

Starts ``hemicycle serve`` (embedded bus and store in a temporary directory), makes an API
key, sends the body once per run and prints the request time, the size of the answer and the
server's resident memory before and after (``VmRSS`` of the server process).

    python benchmarks/costly_body.py [--fields 500000] [--runs 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hostile_body(fields: int) -> bytes:
    contribution = {
        "id": "c-1",
        "space": "s",
        "kind": "proposal",
        "author": "u-1",
        "body": "We should plant more trees.",
        "created_at": "2026-11-20T09:00:00Z",
    }
    extra = ",".join(f'"unknown{n:06d}":1' for n in range(fields))
    return (json.dumps(contribution)[:-1] + "," + extra + "}").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body = hostile_body(args.fields)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEMICYCLE_")}
        env.update(
            HEMICYCLE_DATA_DIR=tmp, HEMICYCLE_HTTP_PORT=str(port), HEMICYCLE_LOG_LEVEL="ERROR"
        )
        cli = [sys.executable, "-m", "pipeline.cli"]
        key = subprocess.run(
            [*cli, "apikeys", "create", "bench"], cwd=REPO, env=env, capture_output=True,
            text=True, check=True,
        ).stdout.strip()  # fmt: skip
        server = subprocess.Popen(
            [*cli, "serve"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            print(f"body: {len(body) / 1e6:.1f} MB, {args.fields:,} unknown fields")
            print(f"server RSS before: {rss_mb(server.pid):.0f} MB")
            for run in range(1, args.runs + 1):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                started = time.perf_counter()
                conn.request(
                    "POST", "/v1/contributions", body=body,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                )  # fmt: skip
                response = conn.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - started
                conn.close()
                print(
                    f"run {run}: HTTP {response.status} in {elapsed:.2f} s, answer "
                    f"{len(answer):,} bytes, server RSS {rss_mb(server.pid):.0f} MB"
                )
            time.sleep(2)
            print(f"server RSS 2 s after the last run: {rss_mb(server.pid):.0f} MB")
            print(f"answer starts: {answer[:300].decode(errors='replace')}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
