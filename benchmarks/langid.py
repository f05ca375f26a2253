"""Language identification: raw fastText lid.176 vs the combined detector.

Run pinned to one core (speed figures are per core):

    taskset -c 0 python benchmarks/langid.py [--dev PATH] [--repeat N]

Text sets, all from the dev file (real gettext translations, 22 EU languages + Maltese):
- ``dev``: every line as it is (mostly short UI strings: the hard case, median ~35 letters);
- ``long``: the lines with at least 60 letters (sentence-length text);
- ``paragraphs``: four lines of one language joined (~200 characters, contribution-sized).

Speed is the best of ``--repeat`` passes. ``main()`` gathers the figures of each ``report_*``
section into one dict and prints it; a further section (e.g. the worker stage) can be appended
the same way.
"""

from __future__ import annotations

import argparse
import gettext
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.models.langid import EU_LANGUAGES, LanguageDetector, LanguageGuess

DEFAULT_DEV = Path(__file__).resolve().parents[1] / "tests" / "data" / "langid_dev.jsonl"
Row = tuple[str, str]  # (language, text)


def dev_path(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("HEMICYCLE_LANGID_DEV")
    return Path(env) if env else DEFAULT_DEV


def load_sets(path: Path) -> dict[str, list[Row]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    dev = [(r["lang"], r["text"]) for r in rows]
    long = [(lang, t) for lang, t in dev if sum(c.isalpha() for c in t) >= 60]
    by_lang: dict[str, list[str]] = defaultdict(list)
    for lang, t in dev:
        by_lang[lang].append(t)
    paragraphs = [
        (lang, " ".join(texts[i : i + 4]))
        for lang, texts in by_lang.items()
        for i in range(0, len(texts), 4)
    ]
    return {"dev": dev, "long": long, "paragraphs": paragraphs}


_FORMAT_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +']*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{[^{}]*\}")
_ACCEL_RE = re.compile(r"(?<=\w)_(?=\w)|&(?=\w)|^_(?=\w)")


def _clean(text: str) -> str:
    """A catalog translation the way the dev set shows them: format placeholders blanked,
    accelerator marks dropped, whitespace collapsed."""
    text = _ACCEL_RE.sub("", _FORMAT_RE.sub(" ", text))
    return " ".join(text.split())


def load_heldout(dev: Sequence[Row], per_language: int, seed: int = 1) -> list[Row]:
    """Held-out texts from the machine's gettext catalogs (``/usr/share/locale/<code>/
    LC_MESSAGES/*.mo``), disjoint from the dev set: no dev text, and no translation of an
    English message that the dev set holds. Up to ``per_language`` texts per dev language,
    13..240 letters, translations that differ from their English message."""
    dev_texts = {t for _, t in dev}
    dev_en: set[str] = set()
    rows = [json.loads(line) for line in DEFAULT_DEV.read_text(encoding="utf-8").splitlines()]
    dev_en = {_clean(r.get("en", "")) for r in rows if r.get("text") in dev_texts}
    rng = random.Random(seed)
    out: list[Row] = []
    for lang in sorted({lang for lang, _ in dev}):
        seen: set[str] = set()
        for mo in sorted(Path("/usr/share/locale", lang, "LC_MESSAGES").glob("*.mo")):
            try:
                with mo.open("rb") as fh:
                    catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
            except Exception:  # a broken catalog is skipped
                continue
            for key, value in catalog.items():
                msgid = key[0] if isinstance(key, tuple) else key
                if not msgid or not value:
                    continue
                text, en = _clean(value), _clean(msgid)
                letters = sum(c.isalpha() for c in text)
                if not 13 <= letters <= 240 or text == en or text in dev_texts or en in dev_en:
                    continue
                seen.add(text)
        pool = sorted(seen)
        rng.shuffle(pool)
        out.extend((lang, t) for t in pool[:per_language])
    return out


def texts_per_second(fn: Callable[[str], object], rows: Sequence[Row], repeat: int) -> float:
    texts = [t for _, t in rows]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for t in texts:
            fn(t)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def accuracy(guesses: Sequence[LanguageGuess], rows: Sequence[Row]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    confusion: Counter[str] = Counter()
    for (lang, _), guess in zip(rows, guesses, strict=True):
        total[lang] += 1
        if guess.lang == lang:
            right[lang] += 1
        else:
            confusion[f"{lang}->{guess.lang or guess.reason}"] += 1
    return {
        "accuracy": round(sum(right.values()) / len(rows), 4),
        "per_language": {lang: round(right[lang] / total[lang], 3) for lang in sorted(total)},
        "errors": dict(confusion.most_common()),
    }


def _raw(detector: LanguageDetector) -> Callable[[str], object]:
    """Single-text fastText predict, k=3, newlines replaced (what fastText needs)."""
    model = detector.fasttext_model

    def raw(text: str) -> object:
        return model.predict(text.replace("\n", " ").replace("\r", " "), k=3)

    return raw


def report_raw(detector: LanguageDetector, sets: dict[str, list[Row]], repeat: int) -> dict:
    """Raw fastText: single-text predict with k=3 (speed), argmax over the configured
    languages of its full distribution (accuracy)."""
    raw = _raw(detector)
    out: dict[str, Any] = {
        f"raw_texts_per_s_{name}": round(texts_per_second(raw, rows, repeat))
        for name, rows in sets.items()
    }
    guesses = [detector.fasttext_only(t) for _, t in sets["dev"]]
    for key, value in accuracy(guesses, sets["dev"]).items():
        out[f"plain_fasttext_{key}"] = value
    return out


def report_combined(detector: LanguageDetector, sets: dict[str, list[Row]], repeat: int) -> dict:
    out: dict[str, Any] = {
        f"combined_texts_per_s_{name}": round(texts_per_second(detector.detect, rows, repeat))
        for name, rows in sets.items()
    }
    guesses = [detector.detect(t) for _, t in sets["dev"]]
    for key, value in accuracy(guesses, sets["dev"]).items():
        out[f"combined_{key}"] = value
    methods = Counter(g.method for g in guesses)
    out["combined_methods_dev"] = {m: round(n / len(guesses), 3) for m, n in methods.most_common()}
    # The easy majority: dev texts answered on the fast path (fastText alone, no lingua).
    easy = [row for row, g in zip(sets["dev"], guesses, strict=True) if g.method == "fasttext"]
    raw = texts_per_second(_raw(detector), easy, repeat)
    fast = texts_per_second(detector.detect, easy, repeat)
    out["easy_majority_share_dev"] = round(len(easy) / len(guesses), 3)
    out["raw_texts_per_s_easy_majority"] = round(raw)
    out["combined_texts_per_s_easy_majority"] = round(fast)
    out["speed_ratio_combined_over_raw_easy_majority"] = round(fast / raw, 3)
    for name in ("long", "paragraphs"):
        rows = sets[name]
        out[f"combined_accuracy_{name}"] = accuracy([detector.detect(t) for _, t in rows], rows)[
            "accuracy"
        ]
    return out


def report_stage(detector: LanguageDetector, sets: dict[str, list[Row]], repeat: int) -> dict:
    """The langid worker stage end to end on the embedded bus (best of ``repeat`` runs each):
    over the dev texts three times (the headline figure: repeats answered by the stage's memo),
    the same without the memo, the dev texts once (every text new to the stage), and the dev
    texts three times with personal fields in plaintext (protection off: no opening, no
    sealing). Input is sealed as the API writes it unless protection is off."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stage import measure_langid_stage

    dev = [t for _, t in sets["dev"]]
    runs: dict[str, tuple[list[str], dict[str, Any]]] = {
        "dev": (dev * 3, {}),
        "dev_no_memo": (dev * 3, {"cache_size": 0}),
        "dev_unique": (dev, {}),
        "dev_plaintext": (dev * 3, {"personal_data_protection": False}),
    }
    out: dict[str, Any] = {}
    for name, (texts, options) in runs.items():
        best = max(
            (measure_langid_stage(texts, detector, **options) for _ in range(repeat)),
            key=lambda r: r["stage_texts_per_s"],
        )
        out[f"stage_texts_per_s_{name}"] = round(best["stage_texts_per_s"])
        out[f"stage_busy_share_{name}"] = round(best["stage_busy_share"], 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", help="langid_dev.jsonl (default: tests/data/langid_dev.jsonl)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; best is kept")
    parser.add_argument(
        "--heldout",
        type=int,
        default=0,
        metavar="N",
        help="also report accuracy on N texts per language from the gettext catalogs, "
        "excluding the dev texts (the set thresholds are tuned on)",
    )
    args = parser.parse_args(argv)
    sets = load_sets(dev_path(args.dev))
    start = time.perf_counter()
    detector = LanguageDetector(EU_LANGUAGES)
    figures: dict[str, Any] = {
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "texts": {name: len(rows) for name, rows in sets.items()},
        "detector_load_s": round(time.perf_counter() - start, 2),
    }
    figures.update(report_raw(detector, sets, args.repeat))
    figures.update(report_combined(detector, sets, args.repeat))
    for name in sets:
        figures[f"speed_ratio_combined_over_raw_{name}"] = round(
            figures[f"combined_texts_per_s_{name}"] / figures[f"raw_texts_per_s_{name}"], 3
        )
    figures.update(report_stage(detector, sets, args.repeat))
    raw_dev = figures["raw_texts_per_s_dev"]
    for name in ("dev", "dev_no_memo", "dev_unique", "dev_plaintext"):
        stage = figures[f"stage_texts_per_s_{name}"]
        figures[f"speed_ratio_stage_over_raw_{name}"] = round(stage / raw_dev, 3)
        figures[f"speed_ratio_stage_over_target_10000_{name}"] = round(stage / 10_000, 3)
    if args.heldout:
        held = load_heldout(sets["dev"], args.heldout)
        guesses = [detector.detect(t) for _, t in held]
        figures["heldout_texts"] = len(held)
        for key, value in accuracy(guesses, held).items():
            figures[f"heldout_{key}"] = value
        methods = Counter(g.method for g in guesses)
        figures["heldout_methods"] = {m: round(n / len(held), 3) for m, n in methods.most_common()}
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
