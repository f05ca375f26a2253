"""Translation throughput: argostranslate (LibreTranslate-style) vs CTranslate2 vs our worker.

One run, one real-size model for every path: a random-weight **Marian base** en→de (d_model
512, 6 + 6 layers, 8 heads, ffn 2048, 32k SentencePiece vocabulary; built offline by
``benchmarks/translate_model.py``), converted to CTranslate2 int8 and packaged as an
argostranslate 1.11 package (installed into a temporary ``ARGOS_PACKAGES_DIR``, and with
``install_model`` into a temporary models dir for the worker).

Paths (texts/s over the same English sentences):

* (a) ``argostranslate.translate.translate(text, "en", "de")`` one text at a time, at its
  defaults (set explicitly through its env vars: beam 4, 32-*token* batches, inter_threads 1,
  intra_threads 0, compute_type auto) — what LibreTranslate does per request;
* (b) CTranslate2 ``translate_batch([tokens])`` one text at a time, same beam as (c);
* (c) one ``translate_batch`` over all texts at its best settings (a small sweep);
* (d) our ``TranslatorStage`` end to end: ``LanguageIdentified`` events on the embedded bus,
  driven by the worker ``Runner`` (poll, validate, segment, cache look-ups, dynamic batches,
  publish, commit), empty cache;
* (e) transformers ``generate`` on the PyTorch weights, per text vs batched.

Random weights never emit ``</s>``, so **every path decodes exactly ``--out-tokens`` tokens**
per sentence: CTranslate2 calls get ``min_decoding_length = max_decoding_length = N`` (for (a)
and (d) through a wrapper around the ``ctranslate2.Translator`` they create, which keeps all
their other settings), ``generate`` gets ``min_new_tokens = max_new_tokens = N``. Each path's
measured mean output length is printed so the comparison can be checked.

Measures only when the machine is quiet: the 1-minute load average must be below
``--quiet-load`` before the build, and before each measurement other processes must use fewer
than ``--idle-cores`` (from ``/proc/stat`` minus this process; the load average would include
our own previous measurement). Waiting is capped at ``--max-wait`` seconds in all, after which
it measures anyway and says so; the CPU other processes used during each measurement is
printed (column ``other``).

    python benchmarks/translate.py [--texts 200] [--beam 2] [--threads 2] [--out-tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# argostranslate's own defaults (settings.py of 1.11), set explicitly so they are reported.
ARGOS_DEFAULTS = {
    "ARGOS_BEAM_SIZE": "4",
    "ARGOS_BATCH_SIZE": "32",  # translate_batch(batch_type="tokens")
    "ARGOS_INTER_THREADS": "1",
    "ARGOS_INTRA_THREADS": "0",  # CTranslate2's default
    "ARGOS_COMPUTE_TYPE": "auto",
    "ARGOS_DEVICE_TYPE": "cpu",
}


# --------------------------------------------------------------------------- helpers


class FixedLength:
    """A ``ctranslate2.Translator`` stand-in: every ``translate_batch`` decodes exactly
    ``tokens`` tokens (other arguments untouched); counts sentences and output tokens."""

    def __init__(self, translator: Any, tokens: int) -> None:
        self.translator = translator
        self.tokens = tokens
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.sentences = 0
        self.out_tokens = 0

    def translate_batch(self, source: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["min_decoding_length"] = self.tokens
        kwargs["max_decoding_length"] = self.tokens
        results = self.translator.translate_batch(source, *args, **kwargs)
        self.calls += 1
        self.sentences += len(results)
        self.out_tokens += sum(len(r.hypotheses[0]) for r in results)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self.translator, name)

    @property
    def mean_out(self) -> float:
        return self.out_tokens / self.sentences if self.sentences else 0.0


def _busy_jiffies() -> tuple[int, int]:
    """(all CPUs' busy jiffies, this process's jiffies incl. waited-for children)."""
    with open("/proc/stat") as fp:
        fields = [int(x) for x in fp.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # minus idle, iowait
    with open("/proc/self/stat") as fp:
        own = fp.read().rsplit(")", 1)[1].split()
    mine = sum(int(x) for x in own[11:15])  # utime stime cutime cstime
    return busy, mine


def _other_cores(before: tuple[int, int], after: tuple[int, int], seconds: float) -> float:
    """Cores used by other processes between two :func:`_busy_jiffies` readings."""
    other = (after[0] - before[0]) - (after[1] - before[1])
    return max(0.0, other / os.sysconf("SC_CLK_TCK") / seconds) if seconds > 0 else 0.0


def wait_quiet(threshold: float, max_wait: float) -> str:
    """Wait until the 1-minute load average is below ``threshold``; returns what happened."""
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < threshold:
            return f"quiet: load {load:.2f} < {threshold} after {waited:.0f} s of waiting"
        if waited >= max_wait:
            return (
                f"NOT quiet: load still {load:.2f} >= {threshold} after {waited:.0f} s; "
                "measured anyway"
            )
        print(f"  waiting for a quiet machine: load {load:.2f}", file=sys.stderr, flush=True)
        time.sleep(min(15.0, max(1.0, max_wait - waited)))


class Meter:
    """Times measurements; before each, waits (within a shared budget) until other processes
    use less than ``idle_cores`` CPU over a 2-s sample, and records what they used during it.

    The load average cannot be used between measurements: it includes our own last one."""

    def __init__(self, idle_cores: float, wait_budget: float) -> None:
        self.idle_cores = idle_cores
        self.wait_budget = wait_budget
        self.waited = 0.0
        self.last_other = 0.0
        self.busy_starts = 0  # measurements started although others were busy
        self.other_core_s = 0.0
        self.measured_s = 0.0

    def _wait_idle(self) -> None:
        while True:
            before, t0 = _busy_jiffies(), time.perf_counter()
            time.sleep(2.0)
            other = _other_cores(before, _busy_jiffies(), time.perf_counter() - t0)
            if other < self.idle_cores:
                return
            if self.waited >= self.wait_budget:
                self.busy_starts += 1
                return
            self.waited += 2.0
            print(f"  other processes busy ({other:.2f} cores); waiting", file=sys.stderr)

    def timed(self, fn: Callable[[], Any]) -> float:
        self._wait_idle()
        before = _busy_jiffies()
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        self.last_other = _other_cores(before, _busy_jiffies(), elapsed)
        self.other_core_s += self.last_other * elapsed
        self.measured_s += elapsed
        return elapsed

    @property
    def mean_other(self) -> float:
        return self.other_core_s / self.measured_s if self.measured_s else 0.0


@dataclass
class Row:
    path: str
    settings: str
    texts: int
    seconds: float
    sentences: int
    out_tokens: float
    other: float  # cores used by other processes during the measurement
    device: str = "cpu"

    @property
    def rate(self) -> float:
        return self.texts / self.seconds


def single_sentence_texts(n: int) -> list[str]:
    """``n`` English sentences that both our segmenter and argos's spaCy sentencizer keep
    whole, so every path translates the same units."""
    import spacy

    from benchmarks.translate_model import benchmark_texts
    from pipeline.models.segment import segment

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    out = []
    for text in benchmark_texts(3 * n):
        if len(segment(text, "en").segments) == 1 and len(list(nlp(text).sents)) == 1:
            out.append(text)
        if len(out) == n:
            break
    return out


# --------------------------------------------------------------------------- building


def build(work: Path) -> tuple[Path, Path]:
    """(PyTorch Marian dir, .argosmodel archive), built in ``work`` unless already there."""
    from benchmarks.translate_model import build_marian_base
    from tests.translation_models import build_argos_package

    marian, archive = work / "marian-base", work / "pkg" / "en_de.argosmodel"
    if not (marian / "model.safetensors").is_file():
        build_marian_base(marian)
    if not archive.is_file():
        build_argos_package(marian, archive.parent)
    return marian, archive


# --------------------------------------------------------------------------- paths


def path_argos(
    archive: Path, texts: Sequence[str], tokens: int, meter: Meter, argos_home: Path
) -> Row:
    """(a) argostranslate's own translate(), one text at a time, at its defaults."""
    for key in ("data", "config", "cache"):
        (argos_home / key).mkdir(parents=True, exist_ok=True)
    # With ARGOS_CHUNK_TYPE=SPACY, importing argostranslate.sbd downloads spaCy's
    # xx_sent_ud_sm unless this cache folder exists (packages ship their own spacy/ folder).
    (argos_home / "cache" / "argos-translate" / "spacy" / "senter" / "model").mkdir(parents=True)
    os.environ.update(
        {
            "XDG_DATA_HOME": str(argos_home / "data"),
            "XDG_CONFIG_HOME": str(argos_home / "config"),
            "XDG_CACHE_HOME": str(argos_home / "cache"),
            "ARGOS_PACKAGES_DIR": str(argos_home / "packages"),
            "ARGOS_CHUNK_TYPE": "SPACY",
            **ARGOS_DEFAULTS,
        }
    )
    import argostranslate.package
    import argostranslate.translate
    import ctranslate2

    argostranslate.package.install_from_path(archive)
    made: list[FixedLength] = []

    def make(*args: Any, **kwargs: Any) -> FixedLength:
        made.append(FixedLength(ctranslate2.Translator(*args, **kwargs), tokens))
        return made[-1]

    # argos creates its Translator through this module attribute on first use.
    argostranslate.translate.ctranslate2 = types.SimpleNamespace(Translator=make)  # type: ignore[attr-defined]
    translate = argostranslate.translate.translate
    translate("Warm up the model.", "en", "de")
    (proxy,) = made
    proxy.reset()
    seconds = meter.timed(lambda: [translate(t, "en", "de") for t in texts])
    settings = (
        f"beam {ARGOS_DEFAULTS['ARGOS_BEAM_SIZE']}, batch {ARGOS_DEFAULTS['ARGOS_BATCH_SIZE']} "
        f"tokens, inter {ARGOS_DEFAULTS['ARGOS_INTER_THREADS']} intra "
        f"{ARGOS_DEFAULTS['ARGOS_INTRA_THREADS']}, {proxy.compute_type}"
    )
    return Row(
        "(a) argostranslate translate()",
        settings,
        len(texts),
        seconds,
        proxy.sentences,
        proxy.mean_out,
        meter.last_other,
    )


def _ct2_sources(package_dir: Path, texts: Sequence[str]) -> list[list[str]]:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(package_dir / "sentencepiece.model"))
    config = json.loads((package_dir / "model" / "config.json").read_text())
    eos = [] if config.get("add_source_eos") else ["</s>"]  # CT2 appends it itself if told
    return [[*sp.encode(t, out_type=str), *eos] for t in texts]


def paths_ct2(
    package_dir: Path,
    texts: Sequence[str],
    *,
    beam: int,
    threads: int,
    tokens: int,
    meter: Meter,
    device: str = "cpu",
    compute_types: Sequence[str] = ("int8",),
    repeat: int = 2,
) -> list[Row]:
    """(b) per-text and (c) whole-set translate_batch, with a small sweep for (c)."""
    import ctranslate2

    sources = _ct2_sources(package_dir, texts)
    mean_src = statistics.mean(len(s) for s in sources)
    rows: list[Row] = []
    for compute in compute_types:
        configs = (
            [("inter", threads, 1), ("intra", 1, threads)] if device == "cpu" else [("", 1, 1)]
        )
        for label, inter, intra in configs:
            translator = FixedLength(
                ctranslate2.Translator(
                    str(package_dir / "model"),
                    device=device,
                    compute_type=compute,
                    inter_threads=inter,
                    intra_threads=intra,
                ),
                tokens,
            )
            translator.translate_batch(sources[:8], beam_size=beam)  # warm up
            threads_s = f", inter {inter} intra {intra}" if device == "cpu" else ""
            translator.reset()
            seconds = meter.timed(
                lambda t=translator: [t.translate_batch([s], beam_size=beam) for s in sources]
            )
            rows.append(
                Row(
                    "(b) CT2 per text",
                    f"beam {beam}, {compute}{threads_s}",
                    len(texts),
                    seconds,
                    translator.sentences,
                    translator.mean_out,
                    meter.last_other,
                    device,
                )
            )
            if label == "intra" and device == "cpu":
                sweep = [("examples", 32)]  # reference: intra-op threading for a whole batch
            else:
                sweep = [(kind, size) for kind in ("examples", "tokens") for size in (16, 32, 64)]
            for kind, size in sweep:
                limit = size if kind == "examples" else round(size * mean_src)
                best, other = float("inf"), 0.0
                for _repeat in range(repeat):
                    translator.reset()
                    seconds = meter.timed(
                        lambda t=translator, k=kind, m=limit: t.translate_batch(
                            sources, beam_size=beam, max_batch_size=m, batch_type=k
                        )
                    )
                    if seconds < best:
                        best, other = seconds, meter.last_other
                rows.append(
                    Row(
                        "(c) CT2 translate_batch",
                        f"beam {beam}, {compute}{threads_s}, max_batch {limit} {kind}",
                        len(texts),
                        best,
                        translator.sentences,
                        translator.mean_out,
                        other,
                        device,
                    )
                )
            del translator
    return rows


def path_worker(
    archive: Path,
    texts: Sequence[str],
    *,
    beam: int,
    threads: int,
    tokens: int,
    meter: Meter,
    work: Path,
) -> tuple[Row, list[Row], dict[str, Any]]:
    """(d) TranslatorStage in the Runner on the embedded bus, cache empty."""
    from benchmarks.stage import submitted_events
    from pipeline.batching import BatchRequest, DynamicBatcher
    from pipeline.bus.embedded import EmbeddedBus
    from pipeline.config import TOPICS, Settings
    from pipeline.models.translation.install import install_model
    from pipeline.schemas import LanguageIdentified, LanguageResult
    from pipeline.store.embedded import EmbeddedStore
    from pipeline.workers.runner import Runner, StopFlag, run_until
    from pipeline.workers.translator import TranslatorStage, batch_budget

    info = install_model(archive, work / "models")
    settings = Settings(data_dir=work / "data", partitions=4, target_languages=["de"])
    budget = batch_budget(settings)
    options = {"beam_size": beam, "threads": threads}
    stage = TranslatorStage(
        EmbeddedStore(work / "store.sqlite3"),
        [info],
        ["de"],
        budget=budget,
        backend_options=options,
    )
    backend = stage.backend(info)  # loaded before timing, like the other paths
    proxy = FixedLength(backend.translator, tokens)  # type: ignore[attr-defined]
    backend.translator = proxy  # type: ignore[attr-defined]
    backend.translate([("Warm up the model.", "en", "de")])  # the backend, not the stage cache
    proxy.reset()

    bus = EmbeddedBus(work / "bus.sqlite3")
    bus.ensure_topics([settings.topic(t) for t in TOPICS], settings.partitions)
    producer = bus.producer()
    language = LanguageResult(lang="en", confidence=1.0, reliable=True, method="bench")
    for event in submitted_events(texts):
        identified = event.derive(
            LanguageIdentified,
            producer="langid",
            contribution=event.contribution,
            language=language,
            detector="bench",
        )
        producer.publish(
            settings.topic("identified"), identified.contribution_id, identified.to_json()
        )
    producer.flush()
    runner = Runner(stage, bus, settings)
    seconds = meter.timed(lambda: run_until([runner], StopFlag(), until_idle=True, wait_s=0.01))
    stats = runner.stats
    assert stats.events == len(texts) and stats.outputs == len(texts), stats
    assert stats.dead_letters == 0, stats
    runner.close()
    bus.close()
    calls = proxy.calls
    row = Row(
        "(d) TranslatorStage (runner+bus)",
        f"beam {beam}, int8, inter {threads} intra 1, batcher {budget.max_tokens} tok / "
        f"{budget.max_items} items, CT2 max_batch 32",
        len(texts),
        seconds,
        proxy.sentences,
        proxy.mean_out,
        meter.last_other,
    )

    # Where the time goes: the same backend without runner, bus, store and segmenter.
    batcher = DynamicBatcher(budget)
    for n, text in enumerate(texts):
        batcher.add(
            BatchRequest(key="en-de", item=n, tokens=backend.count_tokens(text, "en"), arrived=0.0)
        )
    chunks = [[(texts[r.item], "en", "de") for r in b.requests] for b in batcher.drain()]
    diagnostics = []
    for label, work_chunks in (
        (f"worker's {len(chunks)} batches", chunks),
        ("one call", [[(t, "en", "de") for t in texts]]),
    ):
        proxy.reset()
        took = meter.timed(lambda c=work_chunks: [backend.translate(chunk) for chunk in c])
        diagnostics.append(
            Row(
                f"(d') backend only, {label}",
                "ArgosBackend.translate, same settings as (d)",
                len(texts),
                took,
                proxy.sentences,
                proxy.mean_out,
                meter.last_other,
            )
        )
    detail = {
        "batches (model calls)": calls,
        "runner busy share": round(stats.busy_s / seconds, 3),
        "budget": budget.model_dump(),
        "backend": {"beam_size": beam, "threads": threads, "max_batch_size": 32},
        "batch sizes": [len(c) for c in chunks],
    }
    return row, diagnostics, detail


def paths_transformers(
    marian: Path,
    texts: Sequence[str],
    *,
    beam: int,
    threads: int,
    tokens: int,
    meter: Meter,
    device: str = "cpu",
    batch: int = 16,
) -> list[Row]:
    """(e) transformers generate on the PyTorch weights: per text and length-sorted batches."""
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    if device == "cpu":
        torch.set_num_threads(threads)
    tokenizer = MarianTokenizer.from_pretrained(str(marian))
    model = MarianMTModel.from_pretrained(str(marian)).eval()
    dtype = "fp32"
    if device == "cuda":
        model = model.to(device="cuda", dtype=torch.float16)
        dtype = "fp16"
    counts: list[int] = []

    def generate(chunk: Sequence[str]) -> None:
        enc = tokenizer(list(chunk), return_tensors="pt", padding=True).to(device)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                num_beams=beam,
                do_sample=False,
                min_new_tokens=tokens,
                max_new_tokens=tokens,
            )
        if device == "cuda":
            torch.cuda.synchronize()
        counts.extend([out.shape[1] - 1] * len(chunk))  # minus the decoder start token

    generate(texts[:2])  # warm up
    counts.clear()
    per_text = meter.timed(lambda: [generate([t]) for t in texts])
    per_text_other = meter.last_other
    mean_single = statistics.mean(counts)
    counts.clear()
    ordered = sorted(texts, key=len)
    batched = meter.timed(
        lambda: [generate(ordered[i : i + batch]) for i in range(0, len(ordered), batch)]
    )
    threads_s = f", {threads} threads" if device == "cpu" else ""
    return [
        Row(
            "(e) transformers generate, per text",
            f"beam {beam}, {dtype}{threads_s}",
            len(texts),
            per_text,
            len(texts),
            mean_single,
            per_text_other,
            device,
        ),
        Row(
            "(e) transformers generate, batched",
            f"beam {beam}, {dtype}{threads_s}, sorted batches of {batch}",
            len(texts),
            batched,
            len(texts),
            statistics.mean(counts),
            meter.last_other,
            device,
        ),
    ]


# --------------------------------------------------------------------------- main


def print_table(rows: Sequence[Row]) -> None:
    print(
        f"{'path':<40} {'texts':>5} {'s':>7} {'texts/s':>8} {'sent':>5} {'out tok':>7} "
        f"{'other':>5}  settings"
    )
    for r in rows:
        device = "" if r.device == "cpu" else f" [{r.device}]"
        print(
            f"{r.path:<40} {r.texts:>5} {r.seconds:>7.2f} {r.rate:>8.1f} {r.sentences:>5} "
            f"{r.out_tokens:>7.1f} {r.other:>5.2f}  {r.settings}{device}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=200, help="English sentences (default 200)")
    parser.add_argument("--beam", type=int, default=2, help="beam of (b)-(e) (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument(
        "--out-tokens",
        type=int,
        default=None,
        help="output tokens per sentence, all paths (default: mean source tokens incl. </s>)",
    )
    parser.add_argument(
        "--tf-texts", type=int, default=48, help="texts for transformers generate (default 48)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="keep/reuse the built model here (default: a temporary dir)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N for (c) (default 3)")
    parser.add_argument(
        "--quiet-load", type=float, default=0.7, help="1-min load average to start (0.7)"
    )
    parser.add_argument(
        "--idle-cores",
        type=float,
        default=0.25,
        help="before each measurement, wait until other processes use fewer cores (0.25)",
    )
    parser.add_argument(
        "--max-wait", type=float, default=600.0, help="seconds of waiting in all (default 600)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-translate-") as tmp:
        tmpdir = Path(tmp)
        work = args.work_dir or tmpdir / "build"
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        quiet = wait_quiet(args.quiet_load, args.max_wait)
        waited = time.perf_counter() - started
        marian, archive = build(work)
        built_s = time.perf_counter() - started - waited
        package_dir = tmpdir / "argos" / "packages" / "translate-en_de-1_0"
        texts = single_sentence_texts(args.texts)

        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_file=str(marian / "source.spm"))
        src_lens = [len(sp.encode(t)) + 1 for t in texts]
        tokens = args.out_tokens or round(statistics.mean(src_lens))
        meter = Meter(args.idle_cores, max(0.0, args.max_wait - waited))
        rows = [path_argos(archive, texts, tokens, meter, tmpdir / "argos")]
        rows += paths_ct2(
            package_dir,
            texts,
            beam=args.beam,
            threads=args.threads,
            tokens=tokens,
            meter=meter,
            repeat=args.repeat,
        )
        worker_row, worker_diagnostics, worker_detail = path_worker(
            archive,
            texts,
            beam=args.beam,
            threads=args.threads,
            tokens=tokens,
            meter=meter,
            work=tmpdir / "worker",
        )
        rows += [worker_row, *worker_diagnostics]
        tf_texts = texts[: args.tf_texts]
        rows += paths_transformers(
            marian, tf_texts, beam=args.beam, threads=args.threads, tokens=tokens, meter=meter
        )
        load_after = os.getloadavg()[0]

        gpu_rows: list[Row] = []
        import ctranslate2
        import torch

        if ctranslate2.get_cuda_device_count() > 0:
            supported = ctranslate2.get_supported_compute_types("cuda")
            computes = [c for c in ("float16", "int8_float16") if c in supported]
            gpu_rows += paths_ct2(
                package_dir,
                texts,
                beam=args.beam,
                threads=1,
                tokens=tokens,
                meter=meter,
                device="cuda",
                compute_types=computes,
            )
        if torch.cuda.is_available():
            gpu_rows += paths_transformers(
                marian,
                texts,
                beam=args.beam,
                threads=1,
                tokens=tokens,
                meter=meter,
                device="cuda",
                batch=64,
            )

    a = rows[0]
    best_b = max((r for r in rows if r.path.startswith("(b)")), key=lambda r: r.rate)
    best_c = max((r for r in rows if r.path.startswith("(c)")), key=lambda r: r.rate)
    print(
        "Translation throughput, random-weight Marian base en→de (d_model 512, 6+6 layers, "
        f"vocab {sp.get_piece_size() + 1}), CTranslate2 int8 on CPU"
    )
    print(
        f"texts: {len(texts)} English sentences (mean {statistics.mean(len(t) for t in texts):.0f}"
        f" chars, {statistics.mean(src_lens):.1f} source tokens incl. </s>, range "
        f"{min(src_lens)}-{max(src_lens)}); every path decodes exactly {tokens} tokens/sentence"
    )
    print(
        f"before building: {quiet}; model built in {built_s:.0f} s; before each measurement "
        f"waited for other processes < {args.idle_cores} cores ({meter.waited:.0f} s waited, "
        f"{meter.busy_starts} measurements started busy); other processes used "
        f"{meter.mean_other:.2f} cores on average while measuring ({os.cpu_count()} CPUs; "
        f"column 'other'); load after: {load_after:.2f}"
    )
    print()
    print_table(rows)
    print()
    print(f"best (b): {best_b.rate:.1f} texts/s  [{best_b.settings}]")
    print(f"best (c): {best_c.rate:.1f} texts/s  [{best_c.settings}]")
    print(f"(d) worker details: {json.dumps(worker_detail)}")
    print(f"(d)/(a) = {worker_row.rate / a.rate:.2f}  (target >= 5)")
    print(f"(d)/(c) = {worker_row.rate / best_c.rate:.2f}  (target >= 0.9)")
    print(f"(c)/(a) = {best_c.rate / a.rate:.2f}; (c)/(b) = {best_c.rate / best_b.rate:.2f}")
    tf = [r for r in rows if r.path.startswith("(e)")]
    print(f"transformers batched/per-text = {tf[1].rate / tf[0].rate:.2f}")
    if gpu_rows:
        print("\nGPU (absolute figures):")
        print_table(gpu_rows)
    else:
        print(
            "\nGPU: no CUDA device here; GPU variants (CT2 float16/int8_float16, torch fp16) "
            "not run"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
