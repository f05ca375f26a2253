"""Benchmark support: a real-size, random-weight MarianMT en→de and realistic English texts.

No weights can be downloaded, so the translation benchmark builds a model of the real size
offline: **Marian base** (d_model 512, 6 + 6 layers, 8 heads, ffn 2048) with a ~32k
SentencePiece vocabulary trained on the gettext catalogs of this machine
(``/usr/share/locale/de*/LC_MESSAGES/*.mo``: English msgids and German translations). The weights
are random, so the output is garbage: the benchmark fixes the output length itself.

``<pad>`` is the last vocabulary id with a zero embedding row (CTranslate2 drops that id and
starts the decoder from a zero embedding, see NOTES). The model is packaged for argostranslate
with :func:`tests.translation_models.build_argos_package` (CTranslate2 int8).
"""

from __future__ import annotations

import gettext
import glob
import json
import random
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import GenerationConfig, MarianMTModel

from tests.translation_models import marian_config, write_marian_tokenizer

__all__ = ["benchmark_texts", "build_marian_base", "catalog_strings"]

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CONTRIBUTIONS = REPO / "pipeline" / "data" / "sample_contributions.jsonl"
LOCALE_GLOB = "/usr/share/locale/{locale}/LC_MESSAGES/*.mo"
_PAD, _EOS = "<pad>", "</s>"
# A plain English sentence: capital first, ends with . ! or ?, no format placeholders.
_SENTENCE = re.compile(r"[A-Z][A-Za-z0-9 ,;:'\"()\-/]{10,240}[.!?]")


def catalog_strings(locale: str = "*") -> Iterator[tuple[str, str]]:
    """(msgid, msgstr) pairs of the readable gettext catalogs of ``locale`` (a glob)."""
    for path in sorted(glob.glob(LOCALE_GLOB.format(locale=locale))):
        try:
            with open(path, "rb") as fp:
                catalog = gettext.GNUTranslations(fp)._catalog  # type: ignore[attr-defined]
        except (OSError, ValueError, IndexError):  # unreadable, not UTF-8, odd header
            continue
        for key, value in catalog.items():
            msgid = key[0] if isinstance(key, tuple) else key
            if msgid and isinstance(value, str):
                yield msgid, value


def _contribution_sentences() -> list[str]:
    from pipeline.models.segment import segment

    out = []
    for line in SAMPLE_CONTRIBUTIONS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("locale_hint") != "en":
            continue
        for name in ("title", "body"):
            text = record.get(name) or ""
            out.extend(s.text.strip() for s in segment(text, "en").segments if s.text.strip())
    return out


def benchmark_texts(n: int, *, seed: int = 0) -> list[str]:
    """``n`` distinct English sentences of mixed length: the English sentences of the sample
    contributions plus English msgids of the gettext catalogs (shuffled, deterministic)."""
    rng = random.Random(seed)
    contrib = [s for s in _contribution_sentences() if _SENTENCE.fullmatch(s)]
    msgids = sorted({m.strip() for m, _ in catalog_strings() if _SENTENCE.fullmatch(m.strip())})
    rng.shuffle(msgids)
    chosen = list(dict.fromkeys(contrib))[: n // 3]
    seen = set(chosen)
    for text in msgids:
        if len(chosen) >= n:
            break
        if text not in seen:
            seen.add(text)
            chosen.append(text)
    rng.shuffle(chosen)
    return chosen[:n]


def _train_spm(out_dir: Path, vocab_size: int, max_lines: int, seed: int) -> Path:
    rng = random.Random(seed)
    # English msgids and German translations: an en/de vocabulary like opus-mt-en-de's.
    lines = sorted({text for pair in catalog_strings("de*") for text in pair})
    lines = [" ".join(t.split()) for t in lines if 3 <= len(t) <= 400]
    rng.shuffle(lines)
    lines = lines[:max_lines]
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "corpus.txt"
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
        prefix = Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input=str(text),
            model_prefix=str(prefix),
            vocab_size=vocab_size - 1,  # + <pad> appended last
            model_type="unigram",
            hard_vocab_limit=False,
            character_coverage=0.9995,
            input_sentence_size=max_lines,
            shuffle_input_sentence=True,
            unk_id=1,
            eos_id=0,
            bos_id=-1,
            pad_id=-1,
            num_threads=2,
            minloglevel=2,
        )
        dest = out_dir / "source.spm"
        shutil.copyfile(prefix.with_suffix(".model"), dest)
        shutil.copyfile(dest, out_dir / "target.spm")
    return dest


def build_marian_base(
    out_dir: Path, *, vocab_size: int = 32000, max_lines: int = 300_000, seed: int = 0
) -> Path:
    """Save a random-weight Marian base en→de (PyTorch + tokenizer) in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    spm_path = _train_spm(out_dir, vocab_size, max_lines, seed)
    tokenizer, vocab = write_marian_tokenizer(spm_path, out_dir, model_max_length=512)
    pad_id = vocab[_PAD]
    config = marian_config(vocab, d_model=512, layers=6, heads=8, ffn=2048, max_positions=512)
    model = MarianMTModel(config).eval()
    with torch.no_grad():
        model.get_input_embeddings().weight[pad_id].zero_()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad_id,
        eos_token_id=vocab[_EOS],
        pad_token_id=pad_id,
        bad_words_ids=[[pad_id]],
        num_beams=2,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "hemicycle.json").write_text(json.dumps({"pairs": [["en", "de"]]}) + "\n")
    return out_dir
