"""Spam signals, each with a human explanation, and the combined spam score.

Signals: links and their domains (with a block/allow list), shouting, repetition, a phrase
list (the matched phrase shown), and the author's burst rate in a sliding window. Floods of
near-duplicates are found by :mod:`pipeline.models.floods`. The combined score is a noisy-OR
of the signals' weights, so two weak signals add up and one strong signal suffices.

The detector itself holds no state the pipeline relies on: the scorer counts an author's
posts in the window in the shared scorer state (:mod:`pipeline.store.scorer_state`) and asks
:meth:`SpamDetector.burst` for the signal. :meth:`SpamDetector.signals` keeps a window in this
process's memory, for a single-process caller (the Coral moderation phase).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.policy import SpamPolicy
from pipeline.schemas import SpamSignal

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')\]]+|\b(?:[a-z0-9-]+\.)+(?:com|net|org|info|biz|xyz|top|io|ly|"
    r"gl|me|example|eu|de|fr|pl|it|es|ru|cn|co)\b(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
_RUN = re.compile(r"([!?.$€*#])\1{5,}")

# Weights of the noisy-OR; a blocked domain alone is enough to hide.
WEIGHTS: dict[str, float] = {
    "blocked_domain": 0.95,
    "phrase": 0.6,
    "links": 0.35,
    "shouting": 0.35,
    "repetition": 0.35,
    "burst": 0.6,
    "flood": 0.6,
}


def domain_of(url: str) -> str:
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    return re.split(r"[/:?#]", host, maxsplit=1)[0].lower().rstrip(".")


def _matches(domain: str, listed: Iterable[str]) -> str | None:
    for entry in listed:
        entry = entry.lower().lstrip(".")
        if domain == entry or domain.endswith("." + entry):
            return entry
    return None


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for phrase matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass
class SpamSignals:
    signals: list[SpamSignal]

    @property
    def score(self) -> float:
        return combine(self.signals)


def combine(signals: Iterable[SpamSignal]) -> float:
    keep = 1.0
    for signal in signals:
        keep *= 1.0 - WEIGHTS.get(signal.name, 0.3)
    return round(1.0 - keep, 4)


class SpamDetector:
    def __init__(self, policy: SpamPolicy) -> None:
        self.policy = policy
        self.phrases = [(phrase, _fold(phrase)) for phrase in policy.phrases if phrase.strip()]
        self._recent: dict[str, deque[float]] = defaultdict(deque)

    def signals(self, text: str, author: str, at: datetime) -> list[SpamSignal]:
        """Content signals and the burst of this process's window (see the module doc)."""
        return self.content(text) + self._burst(author, at)

    def content(self, text: str) -> list[SpamSignal]:
        """The signals of the text alone: links, shouting, repetition, phrases."""
        out: list[SpamSignal] = []
        out += self._links(text)
        out += self._shouting(text)
        out += self._repetition(text)
        out += self._phrases(text)
        return out

    def burst(self, author: str, count: int) -> list[SpamSignal]:
        """The burst signal for an author's ``count`` posts in the window (this one included)."""
        if count <= self.policy.burst_max:
            return []
        minutes = self.policy.burst_window_s / 60
        return [
            SpamSignal(
                name="burst",
                value=float(count),
                explanation=f"author {author} posted {count} times in {minutes:g} min",
            )
        ]

    def _links(self, text: str) -> list[SpamSignal]:
        domains = [domain_of(url) for url in _URL.findall(text)]
        domains = [d for d in domains if d and not _matches(d, self.policy.allowed_domains)]
        out = []
        blocked = sorted({d for d in domains if _matches(d, self.policy.blocked_domains)})
        if blocked:
            out.append(
                SpamSignal(
                    name="blocked_domain",
                    value=1.0,
                    explanation=f"link to blocked domain {', '.join(blocked)}",
                )
            )
        if len(domains) > self.policy.max_links:
            shown = ", ".join(sorted(set(domains))[:5])
            out.append(
                SpamSignal(
                    name="links",
                    value=float(len(domains)),
                    explanation=f"{len(domains)} links ({shown})",
                )
            )
        return out

    def _shouting(self, text: str) -> list[SpamSignal]:
        letters = [c for c in text if c.isalpha()]
        cased = [c for c in letters if c.isupper() or c.islower()]
        if len(cased) < self.policy.shouting_min_letters:
            return []
        ratio = sum(c.isupper() for c in cased) / len(cased)
        if ratio < self.policy.shouting_ratio:
            return []
        return [
            SpamSignal(
                name="shouting", value=round(ratio, 3), explanation=f"{ratio:.0%} capital letters"
            )
        ]

    def _repetition(self, text: str) -> list[SpamSignal]:
        words = [w.casefold() for w in _WORD.findall(text)]
        run = _RUN.search(text)
        if run:
            return [
                SpamSignal(
                    name="repetition",
                    value=float(len(run.group(0))),
                    explanation=f"{run.group(0)[:12]!r} repeated",
                )
            ]
        if len(words) < 8:
            return []
        longest, current = 1, 1
        for before, word in itertools.pairwise(words):
            current = current + 1 if word == before else 1
            longest = max(longest, current)
        top = max(set(words), key=words.count)
        share = words.count(top) / len(words)
        if longest >= 3 or (share >= 0.3 and len(top) > 3):
            return [
                SpamSignal(
                    name="repetition",
                    value=round(share, 3),
                    explanation=f"the word {top!r} makes {share:.0%} of the text",
                )
            ]
        return []

    def _phrases(self, text: str) -> list[SpamSignal]:
        folded = _fold(text)
        return [
            SpamSignal(name="phrase", value=1.0, explanation=f"phrase {phrase!r}")
            for phrase, key in self.phrases
            if key in folded
        ]

    def _burst(self, author: str, at: datetime) -> list[SpamSignal]:
        now = at.timestamp()
        window = self._recent[author]
        window.append(now)
        while window and window[0] < now - self.policy.burst_window_s:
            window.popleft()
        return self.burst(author, len(window))
