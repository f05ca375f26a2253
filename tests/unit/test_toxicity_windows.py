"""Long texts in windows: abuse at the end of a 5,000-word text is caught, and recorded.

The tiny detoxify-format model (``tests/toxicity_model.py``) is trained here with a few extra
steps on multi-sentence texts, so that it scores a sentence among others as a real model does;
its window limit is set to 64 tokens so that a 5,000-word text takes a few hundred windows.
Every line scored here (neutral filler and abusive sentence) uses held-out slot fillers.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pipeline.models.toxicity import ToxicityScorer
from pipeline.models.toxicity_windows import model_token_limit, special_tokens, split_windows
from pipeline.policy import load_policy
from pipeline.schemas import (
    ContributionScored,
    ContributionSubmitted,
    LanguageIdentified,
    LanguageResult,
)
from pipeline.workers.scorer import ScorerStage
from tests.conftest import contribution
from tests.toxicity_model import abusive_examples, neutral_examples

LIMIT = 64


@pytest.fixture(scope="module")
def scorer(tiny_detoxify_documents: tuple[Path, Path]) -> ToxicityScorer:
    checkpoint, config_dir = tiny_detoxify_documents
    return ToxicityScorer(
        checkpoint, config_dir, device="cpu", batch_size=32, max_length=LIMIT, max_windows=1024
    )


def neutral_text(words: int, seed: int = 0) -> str:
    """Neutral lines of the training split joined as sentences. These tests are about windows,
    not about unseen words: how the tiny model judges *unseen* neutral words depends on the
    CPU's float rounding during its training (on one CPU some held-out neutral lines score
    0.95), while the lines it learnt score neutral everywhere."""
    rng = random.Random(seed)
    lines = [t for t, _ in neutral_examples(0)]
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(rng.choice(lines) + ".")
    return " ".join(out)


def held_out_abuse() -> list[str]:
    return [group[0][0] + "." for group in abusive_examples(1).values()]


def test_abuse_at_the_end_of_5000_words_scores_as_the_sentence_alone(
    scorer: ToxicityScorer,
) -> None:
    filler = neutral_text(5_000)
    assert len(filler.split()) >= 5_000
    (neutral,) = scorer.score_windows([filler])
    assert neutral.values["toxicity"] < 0.3
    sentences = held_out_abuse()
    texts = [f"{filler} {sentence}" for sentence in sentences]
    alone = scorer.score_windows(sentences)
    long = scorer.score_windows(texts)  # every window of every text in one batched call
    for sentence, text, one, many in zip(sentences, texts, alone, long, strict=True):
        assert one.windows == 1 and not one.spans
        assert many.windows > 100 and not many.capped
        # The toxicity score is the criterion. The tiny model's minor categories
        # (identity attack, severe toxicity) learnt from a handful of frames swing with the
        # training's float rounding (0.004 to 0.67 apart over three seeds), so they are not
        # held to it.
        assert abs(many.values["toxicity"] - one.values["toxicity"]) <= 0.05, sentence
        assert set(many.values) == set(one.values)
        start, end = many.spans["toxicity"]
        assert text[start:end].endswith(sentence) and end - start < len(text) // 50
        assert many.values["toxicity"] > 0.8


def test_the_window_cap_is_recorded_and_its_windows_are_scored(scorer: ToxicityScorer) -> None:
    capped = ToxicityScorer.__new__(ToxicityScorer)
    capped.__dict__.update(scorer.__dict__, max_windows=3)
    text = f"{held_out_abuse()[0]} {neutral_text(2_000)} {held_out_abuse()[1]}"
    (result,) = capped.score_windows([text])
    assert (result.windows, result.capped) == (3, True)
    assert result.values["toxicity"] > 0.8  # the first sentence is inside the first window
    assert result.spans["toxicity"][0] == 0


def test_windows_fit_the_limit_hold_whole_sentences_and_cover_the_text(
    scorer: ToxicityScorer,
) -> None:
    tokenizer = scorer.tokenizer
    text = neutral_text(600, seed=3)
    (cut,) = split_windows(tokenizer, [text], limit=LIMIT, max_windows=1024)
    prefix, suffix = special_tokens(tokenizer)
    assert not cut.capped and len(cut.windows) > 5
    assert cut.windows[0].start == 0 and cut.windows[-1].end == len(text)
    for window, following in zip(cut.windows, cut.windows[1:], strict=False):
        assert len(window.ids) <= LIMIT
        assert window.ids[: len(prefix)] == prefix and window.ids[-len(suffix) :] == suffix
        assert not text[window.end : following.start].strip()  # no text between windows
        assert text[window.end - 1] == "." and text[following.start - 1] == " "


def test_a_text_within_the_limit_is_one_window_tokenized_as_usual(
    scorer: ToxicityScorer,
) -> None:
    text = "We should build solar panels next to the market. Thank you!"
    (cut,) = split_windows(scorer.tokenizer, [text], limit=LIMIT, max_windows=4)
    assert [(w.start, w.end) for w in cut.windows] == [(0, len(text))]
    assert cut.windows[0].ids == scorer.tokenizer(text)["input_ids"]
    (empty,) = split_windows(scorer.tokenizer, [""], limit=LIMIT, max_windows=4)
    assert empty.windows == [] and not empty.capped


def test_the_window_limit_respects_the_model(scorer: ToxicityScorer) -> None:
    assert model_token_limit(scorer.tokenizer, scorer.model.config, 10_000) == 512
    assert model_token_limit(scorer.tokenizer, scorer.model.config, 256) == 256
    assert scorer.max_length == LIMIT


def test_the_scored_event_names_the_passage_and_the_windows(scorer: ToxicityScorer) -> None:
    sentence = held_out_abuse()[1]
    body = f"{neutral_text(1_000)} {sentence}"
    source = ContributionSubmitted(contribution=contribution(1, body=body))
    event = source.derive(
        LanguageIdentified,
        producer="langid",
        contribution=source.contribution,
        language=LanguageResult(lang="en", confidence=0.99, reliable=True, method="test"),
        detector="test",
    )
    (scored,) = [
        e for e in ScorerStage(load_policy(), scorer).process([event]) if e.scope == "original"
    ]
    assert isinstance(scored, ContributionScored)
    assert scored.schema_version == "1.1"
    assert scored.toxicity_windows > 10 and not scored.toxicity_windows_capped
    top = max((s for s in scored.scores if s.category != "spam"), key=lambda s: s.value)
    assert top.window_start is not None and top.window_end is not None
    assert body[top.window_start : top.window_end].endswith(sentence)
    again = ContributionScored.model_validate_json(scored.to_json())
    assert again == scored
