"""Long texts cut into overlapping, sentence-aligned token windows for the toxicity model.

A text whose tokens (special tokens included) fit the model's limit is one window. A longer
text is tokenized once, with character offsets, and cut into windows of at most ``limit``
tokens, the model's special tokens included:

* a window ends at the last sentence start in its second half when there is one (sentences are
  ``.!?…`` or a line break followed by white space), otherwise at the token limit;
* the next window starts at the first sentence start among the previous window's last
  ``overlap`` tokens or its end, so windows hold whole sentences; only where a sentence
  is longer than that does the next window start ``overlap`` tokens before the end;
* at most ``max_windows`` windows are made; when they stop before the text's end,
  ``capped`` is set (what follows is not scored).

Each window carries its character span in the text, so a score can point at the passage that
produced it. Very long texts are tokenized on a prefix that the windows can reach (every token
covers at least one character), not whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TextWindows",
    "Window",
    "WindowedScores",
    "model_token_limit",
    "special_tokens",
    "split_windows",
]

# A sentence starts after terminal punctuation (and closing quotes/brackets) or a line break.
_SENTENCE_START = re.compile(
    r"(?:[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\]]*\s+|\n\s*)(?=\S)"
)
# Token limits above this are tokenizer placeholders ("no limit"), not model limits.
_NO_LIMIT = 1_000_000


@dataclass(frozen=True, slots=True)
class Window:
    """Token ids (special tokens included) and the character span ``[start, end)`` they cover."""

    ids: list[int]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TextWindows:
    windows: list[Window]
    capped: bool  # the window cap stopped before the end of the text


@dataclass
class WindowedScores:
    """A text's scores (max over its windows) and where each came from.

    ``spans[category]`` is the ``[start, end)`` character span of the window that scored
    highest on it, given only when the text took several windows; ``capped`` says that the
    window cap left the end of the text unscored.
    """

    values: dict[str, float]
    windows: int = 0
    capped: bool = False
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)


def model_token_limit(tokenizer: Any, model_config: Any, requested: int) -> int:
    """The tokens per window: ``requested``, at most what the tokenizer and model allow.

    RoBERTa-style models reserve ``pad_token_id + 1`` positions (514 positions, 512 tokens);
    ``model_max_length`` of the tokenizer already says so when it is set.
    """
    limit = requested
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_max, int) and 0 < tokenizer_max < _NO_LIMIT:
        limit = min(limit, tokenizer_max)
    positions = getattr(model_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(model_config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
            positions -= int(getattr(model_config, "pad_token_id", 1) or 1) + 1
        limit = min(limit, positions)
    return limit


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text's own tokens (``<s>``, ``</s>``)."""
    probe = "a"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return list(full[:i]), list(full[i + len(bare) :])
    raise ValueError("cannot tell the tokenizer's special tokens from a text's tokens")


def _sentence_starts(text: str) -> list[int]:
    return [m.end() for m in _SENTENCE_START.finditer(text)]


def split_windows(
    tokenizer: Any,
    texts: Sequence[str],
    *,
    limit: int,
    max_windows: int,
    overlap: int | None = None,
    chars_per_token_cap: int = 8,
) -> list[TextWindows]:
    """The windows of each text (see the module docstring); empty texts get none."""
    if limit < 3:
        raise ValueError(f"limit must be >= 3, got {limit}")
    if max_windows < 1:
        raise ValueError(f"max_windows must be >= 1, got {max_windows}")
    prefix, suffix = special_tokens(tokenizer)
    content = limit - len(prefix) - len(suffix)
    if content < 1:
        raise ValueError(f"limit {limit} leaves no room besides the special tokens")
    overlap = max(1, content // 4) if overlap is None else max(0, min(overlap, content // 2))
    cap = max_windows * content * chars_per_token_cap
    clipped = [t[:cap] for t in texts]
    encoded = tokenizer(
        clipped, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )
    out: list[TextWindows] = []
    for text, part, ids, offsets in zip(
        texts, clipped, encoded["input_ids"], encoded["offset_mapping"], strict=True
    ):
        if len(part) < len(text) and len(ids) < max_windows * content:
            # Mostly white space or very long tokens: the prefix did not reach the cap.
            full = tokenizer(
                [text], add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )
            ids, offsets, part = full["input_ids"][0], full["offset_mapping"][0], text
        out.append(_cut((prefix, suffix), text, part, ids, offsets, content, overlap, max_windows))
    return out


def _cut(
    specials: tuple[list[int], list[int]],
    text: str,
    part: str,
    ids: list[int],
    offsets: list[tuple[int, int]],
    content: int,
    overlap: int,
    max_windows: int,
) -> TextWindows:
    n = len(ids)
    if n == 0:
        return TextWindows([], capped=False)
    prefix, suffix = specials

    def wrap(tokens: list[int]) -> list[int]:
        return prefix + tokens + suffix

    if n <= content:
        return TextWindows([Window(wrap(list(ids)), 0, len(text))], capped=False)
    token_starts = [start for start, _ in offsets]
    # Token index where each sentence begins (the first token starting at or after it).
    bounds = sorted({bisect_left(token_starts, c) for c in _sentence_starts(part)} - {0, n})
    windows: list[Window] = []
    start = 0
    while True:
        end = min(start + content, n)
        if end < n:
            k = bisect_right(bounds, end) - 1
            if k >= 0 and bounds[k] > start + content // 2:
                end = bounds[k]
        windows.append(Window(wrap(list(ids[start:end])), offsets[start][0], offsets[end - 1][1]))
        if end >= n:
            return TextWindows(windows, capped=bool(text[len(part) :].strip()))
        if len(windows) >= max_windows:
            return TextWindows(windows, capped=True)
        nxt = max(start + 1, end - overlap)
        k = bisect_left(bounds, nxt)
        start = bounds[k] if k < len(bounds) and bounds[k] <= end else nxt
