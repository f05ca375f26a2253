"""The platform API's server time: ingest one at a time vs in batches, and Coral's answer.

In process (routing, key check, validation, publishing until the embedded bus acknowledged;
no network), on the embedded bus and store in a temporary directory:

* ``POST /v1/contributions`` with one contribution per request vs batches of 100: the
  contributions/s each way and the ratio;
* ``POST /v1/coral/moderate`` (signature check, HTML stripping, language ID, spam signals,
  the policy; with ``--toxicity`` the tiny test detoxify model too): p50/p95 of the answer,
  against Coral's default phase timeout of 200 ms.

    python benchmarks/api.py [--contributions 2000] [--toxicity]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from moderator_ui.app import create_app  # noqa: E402
from pipeline.api.apikeys import create_key  # noqa: E402
from pipeline.config import Settings  # noqa: E402

SAMPLE = REPO / "pipeline" / "data" / "sample_contributions.jsonl"
SECRET = "benchmark-coral-secret-0123456789"


def contributions(n: int, prefix: str) -> list[dict]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        row.pop("platform", None)
        row |= {"id": f"{prefix}-{i}", "version": 1, "created_at": datetime.now(UTC).isoformat()}
        out.append(row)
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributions", type=int, default=2000)
    parser.add_argument("--toxicity", action="store_true", help="with the tiny test model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        extra = {}
        if args.toxicity:
            from tests.toxicity_model import build_tiny_detoxify

            checkpoint, config_dir = build_tiny_detoxify(Path(tmp) / "toxicity")
            extra = {"toxicity_checkpoint": checkpoint, "toxicity_config_dir": config_dir}
        settings = Settings(data_dir=Path(tmp) / "data", partitions=4, coral_secret=SECRET, **extra)
        app = create_app(settings)
        key = create_key(app.state.context.store, "bench")
        auth = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as client:
            one = contributions(args.contributions, "single")
            began = time.perf_counter()
            for row in one:
                assert client.post("/v1/contributions", json=row, headers=auth).status_code == 202
            single = len(one) / (time.perf_counter() - began)
            batched_rows = contributions(args.contributions, "batch")
            began = time.perf_counter()
            for start in range(0, len(batched_rows), 100):
                body = {"contributions": batched_rows[start : start + 100]}
                assert client.post("/v1/contributions", json=body, headers=auth).status_code == 202
            batched = len(batched_rows) / (time.perf_counter() - began)
            print(
                f"ingest API: one per request {single:,.0f} contributions/s; batches of 100 "
                f"{batched:,.0f}/s = {batched / single:.1f}x"
            )
            timings = []
            texts = [r["body"] for r in one[:300]]
            for n, text in enumerate(texts):
                raw = json.dumps(
                    {
                        "action": "NEW",
                        "comment": {"body": f"<p>{text}</p>", "parentID": None},
                        "author": {"id": f"user-{n}", "role": "COMMENTER"},
                        "story": {"id": "story-1", "url": "https://news.example/1"},
                        "site": {"id": "site-1"},
                        "tenantID": "tenant-1",
                        "tenantDomain": "news.example",
                    }
                ).encode()
                signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
                headers = {"Content-Type": "application/json", "X-Coral-Signature": signature}
                began = time.perf_counter()
                response = client.post("/v1/coral/moderate", content=raw, headers=headers)
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
            first = timings[0]
            p50, p95 = percentiles(timings[1:])
            print(
                f"Coral external moderation{' (tiny toxicity model)' if args.toxicity else ''}: "
                f"first request {first:.0f} ms (loads the models), then p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms (Coral's default timeout: 200 ms)"
            )


if __name__ == "__main__":
    main()
