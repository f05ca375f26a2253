"""What every translation engine shares: the model description, the backend interface, errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pipeline.errors import PermanentError

Engine = Literal["argos", "transformers", "apertium"]
Item = tuple[str, str, str]  # (text, source, target)


class TranslationModelError(PermanentError):
    """A model directory / package is missing, invalid, or asked for a pair it lacks."""


@dataclass(frozen=True)
class ModelInfo:
    """What an installed model directory holds (see :func:`read_model`).

    For many-to-many models ``pairs`` lists every ordered pair of distinct ``languages``.
    """

    engine: Engine
    model_id: str
    path: Path
    pairs: frozenset[tuple[str, str]]
    multi_target: bool
    size_bytes: int
    languages: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.languages:
            langs = frozenset(code for pair in self.pairs for code in pair)
            object.__setattr__(self, "languages", langs)


class TranslationBackend(Protocol):
    """A loaded model. ``translate`` is one batch; outputs are in input order."""

    info: ModelInfo
    device: str

    def count_tokens(self, text: str, source: str) -> int:
        """Source tokens the model would see for ``text`` (0 for blank text)."""
        ...

    def translate(self, items: Sequence[Item]) -> list[str]:
        """Translate ``(text, source, target)`` items; blank text gives ``""``."""
        ...


@dataclass(frozen=True)
class BackendOptions:
    """How a neural backend is loaded (see :func:`.registry.load_backend`)."""

    device: str
    beam_size: int
    max_batch_size: int
    threads: int | None
    max_input_tokens: int


def load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TranslationModelError(f"cannot read {path.name} in {path.parent}: {exc}") from exc
    if not isinstance(data, dict):
        raise TranslationModelError(f"{path.name} in {path.parent} is not a JSON object")
    return data


def check_pairwise(info: ModelInfo, items: Sequence[Item]) -> None:
    pairs = {(src, tgt) for _text, src, tgt in items}
    if len(pairs) > 1:
        raise TranslationModelError(
            f"{info.model_id} is pairwise: one batch must share one pair, got {sorted(pairs)}"
        )
    for pair in pairs:
        if pair not in info.pairs:
            raise TranslationModelError(
                f"{info.model_id} ({info.path}) does not translate {pair[0]}->{pair[1]} "
                f"(pairs: {sorted(info.pairs)})"
            )


def decode_budget(longest: int, cap: int) -> int:
    """Output length limit: generous for real translations, bounded for degenerate loops."""
    return max(1, min(cap, int(longest * 1.5) + 10))
