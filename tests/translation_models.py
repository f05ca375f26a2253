"""Test support: a tiny MarianMT en→de model trained at test time, and an argos package of it.

No weights can be downloaded, so the translation tests build an honest stand-in:

* ``build_tiny_marian`` trains one SentencePiece model on a templated en→de corpus
  (subjects x verbs x objects x time words: "The dog likes the book today." → "Der Hund mag das
  Buch heute."), writes it as ``source.spm`` and ``target.spm`` with a shared ``vocab.json``,
  and trains a tiny ``MarianMTModel`` (d_model 64, 2+2 layers, 4 heads, ffn 128) for a few
  hundred AdamW steps. ``HELD_OUT`` holds template combinations never seen in training (every
  word was seen), which the model translates exactly — a real check, not a lookup.
* ``build_tiny_nllb`` writes an *untrained* tiny NLLB-style many-to-many model (M2M-100
  architecture, character-level ``NllbTokenizer`` with its language-code tokens) for checking the
  multi-target mechanics (per-item target token, grouping, order), not translation quality.
* ``build_argos_package`` converts it with CTranslate2 (int8) into an argostranslate 1.11
  package (``metadata.json``, ``model/``, ``sentencepiece.model``, ``spacy/``) zipped as
  ``<from>_<to>.argosmodel``; argostranslate itself installs and runs it offline with
  ``ARGOS_CHUNK_TYPE=SPACY``.

CTranslate2 requirements (see NOTES): ``<pad>`` is the last vocabulary id and its embedding row
is zero (re-zeroed after every optimiser step) — the converter drops that id and starts the
decoder from a zero embedding, so the two models agree.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import zipfile
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import (
    GenerationConfig,
    M2M100Config,
    M2M100ForConditionalGeneration,
    MarianConfig,
    MarianMTModel,
    MarianTokenizer,
    NllbTokenizer,
)

__all__ = [
    "HELD_OUT",
    "NLLB_LANGUAGES",
    "build_argos_package",
    "build_tiny_marian",
    "build_tiny_nllb",
    "corpus",
]

# (English, German subject form, German object form)
_SUBJECTS: list[tuple[str, str]] = [
    ("The dog", "Der Hund"),
    ("The cat", "Die Katze"),
    ("The child", "Das Kind"),
    ("The teacher", "Der Lehrer"),
    ("The woman", "Die Frau"),
    ("The horse", "Das Pferd"),
]
_VERBS: list[tuple[str, str]] = [
    ("likes", "mag"),
    ("sees", "sieht"),
    ("buys", "kauft"),
    ("finds", "findet"),
    ("needs", "braucht"),
    ("has", "hat"),
]
_OBJECTS: list[tuple[str, str]] = [
    ("the book", "das Buch"),
    ("the apple", "den Apfel"),
    ("the car", "das Auto"),
    ("the letter", "den Brief"),
    ("the bread", "das Brot"),
    ("the ball", "den Ball"),
]
_TIMES: list[tuple[str, str]] = [
    ("today", "heute"),
    ("tomorrow", "morgen"),
    ("again", "wieder"),
    ("now", "jetzt"),
]


def _all_pairs() -> list[tuple[tuple[int, int, int, int], str, str]]:
    out = []
    for si, (s_en, s_de) in enumerate(_SUBJECTS):
        for vi, (v_en, v_de) in enumerate(_VERBS):
            for oi, (o_en, o_de) in enumerate(_OBJECTS):
                for ti, (t_en, t_de) in enumerate(_TIMES):
                    out.append(
                        (
                            (si, vi, oi, ti),
                            f"{s_en} {v_en} {o_en} {t_en}.",
                            f"{s_de} {v_de} {o_de} {t_de}.",
                        )
                    )
    return out


def _is_held_out(idx: tuple[int, int, int, int]) -> bool:
    si, vi, oi, ti = idx
    return (si + 2 * vi + 3 * oi + 5 * ti) % 11 == 0


def corpus() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held_out) en→de pairs; every held-out word also occurs in training."""
    train, held = [], []
    for idx, en, de in _all_pairs():
        (held if _is_held_out(idx) else train).append((en, de))
    return train, held


# A handful of held-out checks (combinations never seen in training).
HELD_OUT: list[tuple[str, str]] = corpus()[1][::9][:8]

_PAD = "<pad>"
_EOS = "</s>"
_UNK = "<unk>"


def _train_spm(lines: list[str], out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "corpus.txt"
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
        prefix = Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input=str(text),
            model_prefix=str(prefix),
            vocab_size=120,
            model_type="unigram",
            hard_vocab_limit=False,
            character_coverage=1.0,
            unk_id=1,
            eos_id=0,
            bos_id=-1,
            pad_id=-1,
            num_threads=1,
            minloglevel=2,
        )
        dest = out_dir / "source.spm"
        shutil.copyfile(prefix.with_suffix(".model"), dest)
        shutil.copyfile(dest, out_dir / "target.spm")
    return dest


def write_marian_tokenizer(
    spm_path: Path, out_dir: Path, *, model_max_length: int = 256
) -> tuple[MarianTokenizer, dict[str, int]]:
    """``vocab.json`` in SentencePiece order with ``<pad>`` appended as the LAST id (as
    CTranslate2 needs), and the Marian tokenizer over it (``source.spm`` = ``target.spm``)."""
    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    vocab[_PAD] = len(vocab)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1))
    tokenizer = MarianTokenizer(
        source_spm=str(out_dir / "source.spm"),
        target_spm=str(out_dir / "target.spm"),
        vocab=str(out_dir / "vocab.json"),
        source_lang="en",
        target_lang="de",
        model_max_length=model_max_length,
    )
    assert tokenizer.pad_token_id == vocab[_PAD] == len(vocab) - 1
    return tokenizer, vocab


def marian_config(
    vocab: dict[str, int],
    *,
    d_model: int,
    layers: int,
    heads: int,
    ffn: int,
    max_positions: int,
    dropout: float = 0.1,
) -> MarianConfig:
    """A Marian config whose special ids follow :func:`write_marian_tokenizer`'s vocabulary."""
    pad_id, eos_id = vocab[_PAD], vocab[_EOS]
    return MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        max_position_embeddings=max_positions,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=eos_id,
        share_encoder_decoder_embeddings=True,
        scale_embedding=True,
        dropout=dropout,
        attention_dropout=dropout,
        activation_dropout=dropout,
        activation_function="swish",
    )


def build_tiny_marian(out_dir: Path, *, steps: int = 300, seed: int = 0) -> Path:
    """Train and save a tiny en→de MarianMT in ``out_dir`` (created); returns ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    random.seed(seed)
    torch.manual_seed(seed)
    train, _ = corpus()

    spm_path = _train_spm([s for pair in train for s in pair], out_dir)
    tokenizer, vocab = write_marian_tokenizer(spm_path, out_dir)
    pad_id = vocab[_PAD]
    config = marian_config(
        vocab, d_model=64, layers=2, heads=4, ffn=128, max_positions=256, dropout=0.0
    )
    model = MarianMTModel(config)
    embeddings = model.get_input_embeddings()

    def zero_pad_row() -> None:
        with torch.no_grad():
            embeddings.weight[pad_id].zero_()

    zero_pad_row()
    sources = [s for s, _ in train]
    targets = [t for _, t in train]
    enc = tokenizer(sources, text_target=targets, padding=True, return_tensors="pt")
    labels = enc["labels"].masked_fill(enc["labels"] == pad_id, -100)

    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    # Short warm-up, then linear decay to 10%: converges reliably across seeds.
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min((step + 1) / warmup, 1.0 - 0.9 * step / max(1, steps)),
    )
    generator = torch.Generator().manual_seed(seed)
    batch_size = 32
    model.train()
    for _step in range(steps):
        idx = torch.randint(0, len(sources), (batch_size,), generator=generator)
        out = model(
            input_ids=enc["input_ids"][idx],
            attention_mask=enc["attention_mask"][idx],
            labels=labels[idx],
        )
        optimiser.zero_grad()
        out.loss.backward()
        optimiser.step()
        scheduler.step()
        zero_pad_row()
    model.eval()

    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad_id,
        eos_token_id=vocab[_EOS],
        pad_token_id=pad_id,
        forced_eos_token_id=vocab[_EOS],
        bad_words_ids=[[pad_id]],
        num_beams=2,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "hemicycle.json").write_text(json.dumps({"pairs": [["en", "de"]]}) + "\n")
    return out_dir


def build_argos_package(
    marian_dir: Path, out_dir: Path, *, from_code: str = "en", to_code: str = "de"
) -> Path:
    """Convert ``marian_dir`` into ``out_dir/<from>_<to>.argosmodel``; returns that path."""
    import ctranslate2
    import spacy

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"translate-{from_code}_{to_code}-1_0"
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / name
        pkg.mkdir()
        model_dir = pkg / "model"
        ctranslate2.converters.TransformersConverter(str(marian_dir)).convert(
            str(model_dir), quantization="int8"
        )
        ct2_config_path = model_dir / "config.json"
        ct2_config = json.loads(ct2_config_path.read_text())
        ct2_config["add_source_eos"] = True
        ct2_config_path.write_text(json.dumps(ct2_config, indent=2))
        shutil.copyfile(Path(marian_dir) / "source.spm", pkg / "sentencepiece.model")
        # A blank pipeline only: argostranslate 1.11 adds its own "sentencizer" after loading
        # it and fails (spaCy E007) if the saved pipeline already has one.
        spacy.blank("xx").to_disk(pkg / "spacy")
        metadata = {
            "package_version": "1.0",
            "argos_version": "1.11",
            "type": "translate",
            "from_code": from_code,
            "to_code": to_code,
            "from_name": {"en": "English", "de": "German"}.get(from_code, from_code),
            "to_name": {"en": "English", "de": "German"}.get(to_code, to_code),
            "languages": [from_code, to_code],
        }
        (pkg / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
        archive = out_dir / f"{from_code}_{to_code}.argosmodel"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(pkg.rglob("*")):
                zf.write(path, path.relative_to(Path(tmp)).as_posix())
    return archive


NLLB_LANGUAGES: dict[str, str] = {"en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn"}


def build_tiny_nllb(out_dir: Path, *, seed: int = 0) -> Path:
    """Save an untrained tiny M2M-100 + NLLB tokenizer with a multi-target hemicycle.json."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    train, _ = corpus()
    chars = sorted({c for pair in train for text in pair for c in text} - {" "})
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "\u2581": 4}
    for char in chars:  # character-level BPE (no merges): "▁x" for word-initial characters
        vocab.setdefault(char, len(vocab))
        vocab.setdefault("\u2581" + char, len(vocab))
    tokenizer = NllbTokenizer(vocab=vocab, merges=[])
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    model = M2M100ForConditionalGeneration(config).eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    decl = {"languages": NLLB_LANGUAGES, "multi_target": True}
    (out_dir / "hemicycle.json").write_text(json.dumps(decl) + "\n")
    return out_dir
