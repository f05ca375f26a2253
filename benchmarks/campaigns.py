"""Campaigns across languages and Apertium throughput, on the installed Apertium pairs.

Figures (printed, one table each):

* **campaign recall**: of the human-written translations of one message
  (``tests/data/campaign_multilingual.jsonl``), the share that lands in its largest campaign
  cluster, per pivot language;
* **false joins, same topic**: of genuinely different contributions about that subject
  (``tests/data/same_topic_opinions.jsonl``, indexed together with the campaign), the share put
  into any campaign cluster;
* **false joins, bundled sample** (``pipeline/data/sample_contributions.jsonl``): the share of
  contributions put into a campaign cluster although the flood detector on the text as written
  puts them in no flood (the sample has floods but no multilingual campaign);
* **Apertium segments/s**: one long-running null-flush process per pair fed a batch, against
  one ``apertium`` process per segment (what a naive wrapper does).

Texts reach the pivot along the translator's own routes (``TranslatorStage.route``).

    python benchmarks/campaigns.py [--segments 200] [--single 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from pipeline.models.apertium import list_apertium_models
from pipeline.models.campaigns import CampaignDetector
from pipeline.models.floods import FloodDetector
from pipeline.models.langid import LanguageDetector
from pipeline.models.translation.base import TranslationBackend
from pipeline.models.translation.registry import load_backend
from pipeline.store.embedded import EmbeddedStore
from pipeline.store.scorer_state import Observation, ScorerLimits
from pipeline.store.scorer_state_sqlite import SqliteScorerState
from pipeline.workers.translator import TranslatorStage

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


class Pivot:
    """Texts into one pivot language along the translator's routes, Apertium only."""

    def __init__(self, pivot: str, store_dir: Path) -> None:
        self.pivot = pivot
        self.stage = TranslatorStage(EmbeddedStore(store_dir / "s.db"), list_apertium_models(), [])
        self.backends: dict[str, TranslationBackend] = {}

    def __call__(self, text: str, lang: str) -> str | None:
        if lang == self.pivot:
            return text
        routed = self.stage.route(lang, self.pivot)
        if isinstance(routed, str):
            return None
        path, models = routed
        for (src, dst), info in zip(itertools.pairwise(path), models, strict=True):
            if info.model_id not in self.backends:
                self.backends[info.model_id] = load_backend(info)
            text = self.backends[info.model_id].translate([(text, src, dst)])[0]
        return text

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()  # type: ignore[attr-defined]


def clusters(texts: list[str | None], keys: list[str] | None = None) -> list[str | None]:
    """Campaign cluster of each text (None: alone or not comparable), in arrival order.
    ``keys``: member keys (``id#version``; an edit replaces its earlier version)."""
    state = SqliteScorerState.in_memory(ScorerLimits())
    detector = CampaignDetector()
    out: list[str | None] = []
    for n, text in enumerate(texts):
        bands = detector.bands(text) if text else None
        if bands is None:
            out.append(None)
            continue
        key = keys[n] if keys else f"k{n}#1"
        [facts] = state.observe([Observation(key=key, author="", at_ms=0, bands=bands)])
        out.append(facts.cluster_id)
    # A member that founded a cluster learns of it only from later members: take the last word.
    final: dict[int, str] = {}
    for n, cluster in enumerate(out):
        if cluster is not None:
            for member in state.members(cluster):
                final[(keys or [f"k{i}#1" for i in range(len(texts))]).index(member)] = cluster
            final[n] = cluster
    return [final.get(n) for n in range(len(texts))]


def campaign_figures(pivot: str) -> dict[str, float]:
    campaign = [json.loads(line) for line in (DATA / "campaign_multilingual.jsonl").open()]
    opinions = [json.loads(line) for line in (DATA / "same_topic_opinions.jsonl").open()]
    sample = [
        json.loads(line) for line in (REPO / "pipeline/data/sample_contributions.jsonl").open()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        to_pivot = Pivot(pivot, Path(tmp))
        try:
            rows = campaign + opinions
            found = clusters([to_pivot(r["body"], r["language"]) for r in rows])
            detector = LanguageDetector()
            sample_texts = []
            for r in sample:
                text = " ".join(filter(None, [r.get("title"), r["body"]]))
                lang = detector.detect(text, r.get("locale_hint")).lang
                sample_texts.append(to_pivot(text, lang) if lang else None)
            sample_keys = [f"{r['id']}#{r['version']}" for r in sample]
            sample_found = clusters(sample_texts, sample_keys)
        finally:
            to_pivot.close()
    camp = found[: len(campaign)]
    biggest = max(set(c for c in camp if c), key=camp.count, default=None)
    recall = sum(1 for c in camp if c and c == biggest) / len(campaign)
    same_topic = sum(1 for c in found[len(campaign) :] if c) / len(opinions)
    floods = FloodDetector()
    flood_state = SqliteScorerState.in_memory(ScorerLimits())
    in_flood = []
    for key, r in zip(sample_keys, sample, strict=True):
        text = " ".join(filter(None, [r.get("title"), r["body"]]))
        bands = floods.bands(text)
        facts = flood_state.observe([Observation(key=key, author="", at_ms=0, bands=bands)])
        in_flood.append(facts[0].cluster_id)
    flooded = {sample_keys.index(m) for c in set(in_flood) if c for m in flood_state.members(c)}
    false_sample = sum(1 for n, c in enumerate(sample_found) if c and n not in flooded)
    return {
        "recall": recall,
        "false_same_topic": same_topic,
        "false_sample": false_sample / len(sample),
        "sample_size": len(sample),
        "sample_compared": sum(1 for t in sample_texts if t),
    }


def throughput(segments: int, single: int) -> tuple[float, float]:
    [info] = [m for m in list_apertium_models() if m.model_id == "apertium:eng-spa"]
    texts = [f"The city needs {n} more trees and safer cycle lanes." for n in range(segments)]
    backend = load_backend(info)
    backend.translate([("Warm up.", "en", "es")])
    started = time.perf_counter()
    backend.translate([(t, "en", "es") for t in texts])
    batched = segments / (time.perf_counter() - started)
    backend.close()  # type: ignore[attr-defined]
    started = time.perf_counter()
    for text in texts[:single]:
        subprocess.run(["apertium", "-u", "eng-spa"], input=text, text=True, capture_output=True)
    per_process = single / (time.perf_counter() - started)
    return batched, per_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--single", type=int, default=20)
    args = parser.parse_args()
    if not list_apertium_models():
        sys.exit("no Apertium pairs installed: bash scripts/install-apertium.sh")
    print(f"{'pivot':<6} {'recall':>7} {'false (topic)':>14} {'false (sample)':>15}")
    for pivot in ("en", "es"):
        f = campaign_figures(pivot)
        print(
            f"{pivot:<6} {f['recall']:>7.0%} {f['false_same_topic']:>14.0%} "
            f"{f['false_sample']:>15.1%}  ({f['sample_compared']:.0f}/{f['sample_size']:.0f} "
            "sample texts reached the pivot)"
        )
    batched, per_process = throughput(args.segments, args.single)
    print(
        f"Apertium eng-spa: {batched:.0f} segments/s batched in one null-flush process, "
        f"{per_process:.1f} segments/s with one process per segment ({batched / per_process:.0f}x)"
    )


if __name__ == "__main__":
    main()
