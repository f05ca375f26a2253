"""Server time of the moderator UI with 100,000 items in Redis: queue pages and decisions.

Fills a fresh ``redis-server`` (started here, on a free loopback port) with ITEMS queue items
in several states, languages, spaces and score ranges, then times requests through the real
app in process (routing, session and role checks, store queries, template rendering; no
network): the default queue page, a deep page, a filtered page, the review page, and a
decision (claim, checks, event published and acknowledged by the embedded bus, audit entry).
The obvious alternative for a filtered page, reading every item and filtering in Python, is
timed once in the same run. Free-text search (case and accents ignored) is timed on both
stores with the same items: the Redis word index and SQLite FTS5 in the embedded store.

    python benchmarks/ui.py --items 100000

Targets on this machine: queue page p95 < 150 ms, decision p95 < 50 ms, search p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from moderator_ui.accounts import Accounts  # noqa: E402
from moderator_ui.app import create_app  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.schemas import Contribution, LanguageResult, Score  # noqa: E402
from pipeline.schemas.queue import QueueItem  # noqa: E402
from pipeline.store.base import QueueQuery, QueueStore, Write  # noqa: E402
from pipeline.store.embedded import EmbeddedStore  # noqa: E402
from pipeline.store.redis import RedisStore  # noqa: E402
from tests.services import RedisServer  # noqa: E402

LANGS = ["de", "fr", "it", "pl", "es", "nl", "en", "ro", "sv", "el"]
STATES = ["needs_review"] * 6 + ["auto_hidden", "escalated", "approved", "rejected"]
PASSWORD = "benchmark password"
# One of these per item (about 1 in 500 items has each), accents included.
RARE = [
    f"{word}{k}" for k in range(100) for word in ("école", "Brücke", "tramwaj", "żłobek", "café")
]
SEARCHES = {
    "a word in every item (housing)": "housing",
    "a rare word, accents ignored (ecole7)": "ECOLE7",
    "two words (brucke3 river)": "brucke3 river",
    "an id (b-4242)": "b-4242",
}


def make_item(n: int, rng: random.Random, start: datetime) -> QueueItem:
    lang = rng.choice(LANGS)
    contribution = Contribution(
        id=f"b-{n}",
        platform="bench",
        space=f"space-{n % 40}",
        kind=rng.choice(["proposal", "comment", "debate"]),
        author=f"author-{n % 9000}",
        body=f"Contribution {n} about public transport, housing and the river parks. " * 3
        + RARE[n % len(RARE)],
        created_at=start + timedelta(seconds=n * 7),
    )
    return QueueItem(
        contribution=contribution,
        state=rng.choice(STATES),  # type: ignore[arg-type]
        priority=round(rng.random(), 3),
        language=LanguageResult(lang=lang, confidence=0.97, reliable=True, method="bench"),
        scores=[
            Score(category=c, value=round(rng.random() ** 3, 3), model="bench")
            for c in ("toxicity", "insult", "threat")
        ],
        spam_score=round(rng.random() ** 4, 3),
        cluster_id=f"k-{n % 500}" if n % 10 == 0 else None,
        scored=True,
        submitted_at=contribution.created_at,
        updated_at=contribution.created_at,
    )


def timed(label: str, runs: int, request: Callable[[int], object]) -> dict[str, float]:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        request(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"  {label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({runs} requests)")
    return {"p50": p50, "p95": p95}


def time_search(label: str, store: QueueStore, runs: int) -> float:
    """Search p95 over SEARCHES on ``store`` (the Needs review tab, by priority, one page)."""
    worst = 0.0
    print(f"Search, {label} (store query, one page of 50 and the total):")
    for name, text in SEARCHES.items():
        query = QueueQuery(states=("needs_review",), text=text)
        total = store.query(query).total
        result = timed(f"{name} [{total} found]", runs, lambda i, q=query: store.query(q))
        worst = max(worst, result["p95"])
    return worst


def fill_embedded(path: Path, items: int) -> EmbeddedStore:
    store = EmbeddedStore(path)
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=9)
    began = time.perf_counter()
    for first in range(0, items, 1000):
        store.save_many(
            [
                Write(make_item(n, rng, start), f"seed-{n}", 0)
                for n in range(first, min(items, first + 1000))
            ]
        )
    print(f"{items} items saved to the embedded store in {time.perf_counter() - began:.0f} s")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "redis").mkdir()
        redis = RedisServer(Path(tmp) / "redis")
        try:
            settings = Settings(
                data_dir=Path(tmp) / "data", store="redis", redis_url=redis.url, partitions=2
            )
            store = RedisStore(redis.url)
            start = datetime.now(UTC) - timedelta(days=9)
            began = time.perf_counter()
            for first in range(0, args.items, 1000):
                last = min(args.items, first + 1000)
                store.save_many(
                    [Write(make_item(n, rng, start), f"seed-{n}", 0) for n in range(first, last)]
                )
            fill = time.perf_counter() - began
            print(f"{args.items} items saved to Redis in {fill:.0f} s ({args.items / fill:.0f}/s)")
            print(f"  counts: {store.counts()}")
            Accounts(store).add("bench", "moderator", PASSWORD, language="de")
            app = create_app(settings)
            with TestClient(app) as client:
                login = client.get("/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
                assert token is not None
                client.post(
                    "/login",
                    data={"username": "bench", "password": PASSWORD, "csrf_token": token[1]},
                )
                page = client.get("/queue")
                assert page.status_code == 200 and page.text.count("data-cid=") == 50
                csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
                assert csrf is not None
                ids = re.findall(r'tr data-cid="([^"]+)"', page.text)
                print("Server time (in-process ASGI):")
                queue = timed("queue page (needs review, by priority)", args.runs,
                              lambda i: client.get("/queue"))  # fmt: skip
                timed("queue page 400 (offset 20,000)", args.runs // 4,
                      lambda i: client.get("/queue?page=400"))  # fmt: skip
                filtered = timed(
                    "filtered (de, space, toxicity >= 0.5)",
                    args.runs // 4,
                    lambda i: client.get(
                        f"/queue?language=de&space=space-{i % 40}&category=toxicity&min=0.5"
                    ),
                )
                timed("decided tab (3 states merged)", args.runs // 4,
                      lambda i: client.get("/queue?tab=decided"))  # fmt: skip
                timed("review page", args.runs // 4,
                      lambda i: client.get(f"/items/bench:b-{(i * 37) % args.items}"))  # fmt: skip
                open_ids = [
                    i.contribution_id
                    for i in store.list_items(state="needs_review", limit=args.runs, offset=100)
                ]
                decision = timed(
                    "decision (approve)",
                    len(open_ids),
                    lambda i: client.post(
                        "/api/decide",
                        json={
                            "cid": open_ids[i],
                            "decision": "approve",
                            "seen_version": 1,
                            "seen_decisions": 0,
                        },
                        headers={"X-CSRF-Token": csrf[1]},
                    ),
                )
                timed("queue page, search (rare word)", args.runs // 4,
                      lambda i: client.get(f"/queue?q=tramwaj{i % 100}"))  # fmt: skip
                assert ids
            began = time.perf_counter()
            naive = [
                i
                for i in store.iter_items()
                if i.state == "needs_review"
                and i.language_code == "de"
                and i.contribution.space == "space-3"
                and max(s.value for s in i.scores if s.category == "toxicity") >= 0.5
            ][:50]
            scan_ms = (time.perf_counter() - began) * 1000
            print(f"  obvious alternative, filter by reading every item: {scan_ms:8.0f} ms")
            print(
                f"Queue page p95 {queue['p95']:.1f} ms (target < 150: "
                f"{'met' if queue['p95'] < 150 else 'not met'}); decision p95 "
                f"{decision['p95']:.1f} ms (target < 50: "
                f"{'met' if decision['p95'] < 50 else 'not met'}); filtered page "
                f"{scan_ms / filtered['p50']:.0f}x faster than the scan ({len(naive)} matches)"
            )
            redis_search = time_search("Redis", store, args.runs // 4)
            embedded = fill_embedded(Path(tmp) / "embedded.sqlite3", args.items)
            embedded_search = time_search("embedded (SQLite FTS5)", embedded, args.runs // 4)
            embedded.close()
            print(
                f"Search p95, worst of the searches: Redis {redis_search:.1f} ms, embedded "
                f"{embedded_search:.1f} ms (target < 300: "
                f"{'met' if max(redis_search, embedded_search) < 300 else 'not met'})"
            )
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
