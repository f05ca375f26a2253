"""Test support: a tiny detoxify-format toxicity model built (and trained) at test time.

No weights can be downloaded, so the tests build an honest stand-in for detoxify's multilingual
checkpoint: a SentencePiece tokenizer trained on templated lines, saved as an
``XLMRobertaTokenizer``, and a tiny ``XLMRobertaForSequenceClassification`` (hidden 32, 2 layers,
2 heads, intermediate 64, 7 multi-label outputs named like detoxify's multilingual classes)
trained for a few seconds on abusive vs neutral templates in en/fr/es/it. The held-out sets use
slot fillers the model never saw, so "abusive scores higher than neutral" is a real check.

The checkpoint is written the way detoxify expects it (``config`` with ``arch.args`` and
``dataset.args.classes``, plus ``state_dict``); ``arch.args.model_type`` names the config
directory so ``Detoxify(..., huggingface_config_path=config_dir)`` loads with no network.
``write_tokenizer`` and ``write_detoxify_checkpoint`` are reused by ``benchmarks/score.py``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import (
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaTokenizer,
)

from pipeline.models.toxicity import CATEGORIES

__all__ = [
    "CLASSES",
    "abusive_examples",
    "build_tiny_detoxify",
    "neutral_examples",
    "training_documents",
    "write_detoxify_checkpoint",
    "write_tokenizer",
]

# detoxify's multilingual class names.
CLASSES: tuple[str, ...] = CATEGORIES

Example = tuple[str, tuple[str, ...]]  # (text, positive classes)

# Templates: (language, frame, slot name). Each frame is filled with the train or held-out fillers.
_INSULT_FRAMES = [
    ("en", "You are a {adj} {noun}"),
    ("en", "Shut up you {adj} {noun}"),
    ("en", "What a {adj} {noun} you are"),
    ("fr", "Tu es un {noun} {adj_fr}"),
    ("fr", "Ferme-la espèce de {noun_fr}"),
    ("es", "Eres un {noun_es} {adj_es}"),
    ("es", "Cállate {noun_es} {adj_es}"),
    ("it", "Sei un {noun_it} {adj_it}"),
    ("it", "Stai zitto {noun_it}"),
]
_THREAT_FRAMES = [
    ("en", "I will {verb} you"),
    ("en", "We know where you live and we will {verb} you"),
    ("en", "Watch your back, I am going to {verb} you"),
    ("fr", "Je vais te {verb_fr}"),
    ("fr", "On sait où tu habites, on va te {verb_fr}"),
    ("es", "Te voy a {verb_es}"),
    ("es", "Sabemos dónde vives y te vamos a {verb_es}"),
    ("it", "Ti vengo a {verb_it}"),
    ("it", "Sappiamo dove abiti e ti veniamo a {verb_it}"),
]
_IDENTITY_FRAMES = [
    ("en", "All {group} are {bad} and should leave"),
    ("fr", "Tous les {group_fr} sont {bad_fr}"),
    ("es", "Todos los {group_es} son {bad_es}"),
    ("it", "Tutti gli {group_it} sono {bad_it}"),
]
_NEUTRAL_FRAMES = [
    ("en", "I propose more {thing} near the {place}"),
    ("en", "We should build {thing} next to the {place}"),
    ("en", "The {place} in our town needs better {thing}"),
    ("en", "Thank you for the proposal about {thing} at the {place}"),
    ("fr", "Je propose plus de {thing_fr} près de la {place_fr}"),
    ("fr", "Il faut construire des {thing_fr} à côté de la {place_fr}"),
    ("es", "Propongo más {thing_es} cerca de la {place_es}"),
    ("es", "Deberíamos construir {thing_es} junto a la {place_es}"),
    ("it", "Propongo più {thing_it} vicino alla {place_it}"),
    ("it", "Dovremmo costruire {thing_it} accanto alla {place_it}"),
]

# Slot fillers: index 0 = training fillers, index 1 = held-out fillers (never seen in training).
_FILLERS: dict[str, tuple[list[str], list[str]]] = {
    "adj": (["stupid", "pathetic", "worthless", "dumb", "ugly"], ["brainless", "miserable"]),
    "noun": (["idiot", "moron", "clown", "loser", "fool"], ["imbecile", "jerk"]),
    "adj_fr": (["stupide", "minable", "débile", "nul"], ["pathétique", "lamentable"]),
    "noun_fr": (["idiot", "crétin", "abruti", "connard"], ["imbécile", "bouffon"]),
    "adj_es": (["estúpido", "patético", "inútil", "tonto"], ["miserable", "ridículo"]),
    "noun_es": (["idiota", "imbécil", "payaso", "tarado"], ["cretino", "inútil"]),
    "adj_it": (["stupido", "patetico", "inutile", "scemo"], ["ridicolo", "miserabile"]),
    "noun_it": (["idiota", "cretino", "imbecille", "buffone"], ["deficiente", "pagliaccio"]),
    "verb": (["hurt", "kill", "beat", "destroy", "stab"], ["crush", "punch"]),
    "verb_fr": (["frapper", "tuer", "détruire", "massacrer"], ["cogner", "écraser"]),
    "verb_es": (["matar", "golpear", "destruir", "apuñalar"], ["aplastar", "pegar"]),
    "verb_it": (["ammazzare", "picchiare", "distruggere", "accoltellare"], ["pestare", "colpire"]),
    "group": (["foreigners", "immigrants", "women", "muslims"], ["jews", "gays"]),
    "bad": (["vermin", "animals", "parasites", "scum"], ["filth", "rats"]),
    "group_fr": (["étrangers", "immigrés", "musulmans"], ["juifs", "gitans"]),
    "bad_fr": (["des parasites", "des animaux", "de la vermine"], ["des rats", "une plaie"]),
    "group_es": (["extranjeros", "inmigrantes", "musulmanes"], ["judíos", "gitanos"]),
    "bad_es": (["parásitos", "animales", "basura"], ["ratas", "escoria"]),
    "group_it": (["stranieri", "immigrati", "zingari"], ["ebrei", "musulmani"]),
    "bad_it": (["parassiti", "animali", "feccia"], ["ratti", "spazzatura"]),
    "thing": (
        [
            *("night trains", "bike lanes", "bus stops", "libraries", "trees", "benches"),
            *("playgrounds", "street lights", "footpaths", "recycling bins"),
        ],
        ["solar panels", "tram lines"],
    ),
    "place": (
        ["park", "school", "station", "river", "town hall", "library", "beach", "square"],
        ["market", "hospital"],
    ),
    "thing_fr": (
        ["trains de nuit", "pistes cyclables", "bibliothèques", "arbres", "bancs", "lampadaires"],
        ["tramways"],
    ),
    "place_fr": (
        ["gare", "école", "rivière", "mairie", "plage", "bibliothèque"],
        ["piscine", "place"],
    ),
    "thing_es": (
        ["trenes nocturnos", "carriles bici", "bibliotecas", "árboles", "bancos", "farolas"],
        ["tranvías"],
    ),
    "place_es": (
        ["estación", "escuela", "playa", "plaza", "universidad", "iglesia"],
        ["biblioteca", "piscina"],
    ),
    "thing_it": (
        ["treni notturni", "piste ciclabili", "biblioteche", "alberi", "panchine", "lampioni"],
        ["tram"],
    ),
    "place_it": (
        ["stazione", "scuola", "piazza", "spiaggia", "chiesa", "università"],
        ["piscina", "biblioteca"],
    ),
}

_INSULT = ("toxicity", "insult")
_THREAT = ("toxicity", "threat")
_SEVERE_THREAT = ("toxicity", "severe_toxicity", "threat")
_IDENTITY = ("toxicity", "identity_attack", "insult")
_SEVERE_VERBS = {"kill", "stab", "tuer", "massacrer", "matar", "apuñalar", "ammazzare"}
_SEVERE_VERBS |= {"accoltellare"}


def _fill(frames: Sequence[tuple[str, str]], split: int) -> list[tuple[str, dict[str, str]]]:
    """Every frame with every combination of the split's fillers: (text, slot values)."""
    out: list[tuple[str, dict[str, str]]] = []
    for _lang, frame in frames:
        slots = [name for name in _FILLERS if "{" + name + "}" in frame]
        combos: list[dict[str, str]] = [{}]
        for slot in slots:
            combos = [{**c, slot: v} for c in combos for v in _FILLERS[slot][split]]
        out.extend((frame.format(**c), c) for c in combos)
    return out


def abusive_examples(split: int) -> dict[str, list[Example]]:
    """Abusive lines by kind ("insult", "threat", "identity"); split 0 = train, 1 = held out."""
    threats: list[Example] = []
    for text, slots in _fill(_THREAT_FRAMES, split):
        severe = any(v in _SEVERE_VERBS for v in slots.values())
        threats.append((text, _SEVERE_THREAT if severe else _THREAT))
    return {
        "insult": [(t, _INSULT) for t, _ in _fill(_INSULT_FRAMES, split)],
        "threat": threats,
        "identity": [(t, _IDENTITY) for t, _ in _fill(_IDENTITY_FRAMES, split)],
    }


def neutral_examples(split: int) -> list[Example]:
    """Neutral civic lines (no positive class); split 0 = train, 1 = held out."""
    return [(t, ()) for t, _ in _fill(_NEUTRAL_FRAMES, split)]


def write_tokenizer(
    lines: Iterable[str], config_dir: Path, *, vocab_size: int = 400, model_max_length: int = 512
) -> XLMRobertaTokenizer:
    """Train a unigram SentencePiece model on ``lines``; save it as an ``XLMRobertaTokenizer``.

    The vocabulary follows XLM-R's layout: ``<s> <pad> </s> <unk>`` at ids 0-3, the pieces, then
    ``<mask>`` last. Built from the pieces directly (transformers 5 needs protobuf to convert a
    ``.model`` file), so ``config_dir`` gets ``tokenizer.json`` + ``tokenizer_config.json``.
    """
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(lines)),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [
        (sp.id_to_piece(i), sp.get_score(i))
        for i in range(sp.get_piece_size())
        if not (sp.is_control(i) or sp.is_unknown(i))
    ]
    vocab.append(("<mask>", 0.0))
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=model_max_length)
    config_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(config_dir)
    return tokenizer


def write_detoxify_checkpoint(
    model: XLMRobertaForSequenceClassification,
    config_dir: Path,
    checkpoint: Path,
    classes: Sequence[str] = CLASSES,
) -> None:
    """Save ``model`` in detoxify's checkpoint format, its HF config in ``config_dir``.

    ``arch.args`` must hold exactly model_type/model_name/tokenizer_name/num_classes (detoxify
    passes them as keyword arguments); ``model_type`` is the config directory so that detoxify's
    ``config_class.from_pretrained(model_type)`` resolves locally.
    """
    model.config.save_pretrained(config_dir)
    payload = {
        "config": {
            "arch": {
                "args": {
                    "model_type": str(config_dir),
                    "model_name": type(model).__name__,
                    "tokenizer_name": "XLMRobertaTokenizer",
                    "num_classes": len(classes),
                }
            },
            "dataset": {"args": {"classes": list(classes)}},
        },
        "state_dict": model.state_dict(),
    }
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, checkpoint)


def tiny_config(vocab_size: int, num_labels: int = len(CLASSES)) -> XLMRobertaConfig:
    """The tiny XLM-R shape used by the tests."""
    return XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        type_vocab_size=1,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=num_labels,
        problem_type="multi_label_classification",
        id2label=dict(enumerate(CLASSES)),
        label2id={c: i for i, c in enumerate(CLASSES)},
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def training_documents(
    count: int, rng: random.Random, *, max_sentences: int = 4, split: int = 0
) -> list[Example]:
    """Multi-sentence texts: neutral lines joined as sentences, one of them replaced by an
    abusive line (labelled as that line) in half of the texts. Taught after the single lines,
    they make the model find one abusive sentence among neutral ones, as a real model does."""
    neutral = [t for t, _ in neutral_examples(split)]
    abusive = [ex for group in abusive_examples(split).values() for ex in group]
    docs: list[Example] = []
    for n in range(count):
        lines = [rng.choice(neutral) for _ in range(rng.randint(1, max_sentences))]
        labels: tuple[str, ...] = ()
        if n % 2 == 0:
            text, labels = rng.choice(abusive)
            lines[rng.randrange(len(lines))] = text  # as many sentences as a neutral text
        docs.append((" ".join(line + "." for line in lines), labels))
    return docs


def build_tiny_detoxify(
    out_dir: Path,
    *,
    steps: int = 300,
    seed: int = 0,
    lr: float = 3e-3,
    document_steps: int = 0,
) -> tuple[Path, Path]:
    """Build, train and save the tiny model; returns ``(checkpoint_path, config_dir)``.

    Deterministic for a given seed (single-threaded training). Takes a few seconds on CPU.
    ``document_steps`` further steps on batches half single lines, half multi-sentence texts
    (:func:`training_documents`) teach it to score a sentence inside a longer text.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    config_dir = out_dir / "config"
    checkpoint = out_dir / "tiny-multilingual.ckpt"

    abusive = abusive_examples(0)
    # Balance the kinds: the few threat / identity frames are repeated up to the insults' count.
    train: list[Example] = []
    for group in abusive.values():
        train += group * max(1, round(len(abusive["insult"]) / len(group)))
    neutral = neutral_examples(0)
    train += neutral * max(1, round(len(train) / len(neutral)))
    # Like XLM-R's vocabulary, the tokenizer covers all the words (held-out lines included,
    # unlabelled); the classifier never sees the held-out lines or their labels.
    held_out = [ex for group in abusive_examples(1).values() for ex in group]
    held_out += neutral_examples(1)
    tokenizer = write_tokenizer(
        sorted({t for t, _ in train + held_out}), config_dir, vocab_size=400
    )

    rng = random.Random(seed)
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = XLMRobertaForSequenceClassification(tiny_config(len(tokenizer)))
        labels = torch.tensor(
            [[1.0 if c in pos else 0.0 for c in CLASSES] for _, pos in train], dtype=torch.float32
        )
        enc = tokenizer([t for t, _ in train], padding=True, return_tensors="pt")
        optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        order = list(range(len(train)))
        batch = 64
        model.train()
        step = 0
        while step < steps:
            rng.shuffle(order)
            for start in range(0, len(order), batch):
                idx = torch.tensor(order[start : start + batch])
                logits = model(
                    input_ids=enc["input_ids"][idx], attention_mask=enc["attention_mask"][idx]
                ).logits
                loss = loss_fn(logits, labels[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                step += 1
                if step >= steps:
                    break
        for _ in range(document_steps):
            docs = training_documents(batch // 2, rng)
            lines = [train[i] for i in rng.sample(range(len(train)), batch - len(docs))]
            examples = docs + lines
            doc_enc = tokenizer([t for t, _ in examples], padding=True, return_tensors="pt")
            doc_labels = torch.tensor(
                [[1.0 if c in pos else 0.0 for c in CLASSES] for _, pos in examples],
                dtype=torch.float32,
            )
            logits = model(**doc_enc).logits
            loss = loss_fn(logits, doc_labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        model.eval()
    finally:
        torch.set_num_threads(prev_threads)
    write_detoxify_checkpoint(model, config_dir, checkpoint)
    return checkpoint, config_dir
