"""The moderation policy: thresholds per category, overridable per language and per space.

A policy turns the facts about a contribution (scores, spam signals, flood cluster, language,
space, author history) into one action with a priority and the **reasons** a moderator sees:

* ``escalate``: a notice of illegal content (DSA Art. 16) arrived: a senior look, first;
* ``auto_hide``: hidden on the platform until a human confirms (a ``hide`` threshold was
  reached, enough distinct people reported it, or pre-moderation applies — of the space, of a
  new author, or of a sanctioned author);
* ``needs_review``: a ``review`` threshold was reached, or something could not be scored;
* ``auto_approve``: nothing to review and the policy allows it.

Precedence: escalate > auto_hide > needs_review > auto_approve. People's reports raise the
priority by one per distinct reporter (up to five). Every threshold names where it came
from (``policy: default``, ``policy: language de``, ``policy: space youth-forum``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import PermanentError
from pipeline.schemas.codec import describe_validation_error

Action = Literal["auto_approve", "needs_review", "auto_hide", "escalate"]
ACTION_STATE: dict[str, str] = {
    "auto_approve": "auto_approved",
    "needs_review": "needs_review",
    "auto_hide": "auto_hidden",
    "escalate": "escalated",
}
REPORT_PRIORITY_CAP = 5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    review: float | None = Field(None, ge=0.0, le=1.0)
    hide: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.review is not None and self.hide is not None and self.hide < self.review:
            raise ValueError(f"hide ({self.hide}) is below review ({self.review})")
        return self


class AutoApprove(_Strict):
    enabled: bool = True
    require_toxicity: bool = True


class Premoderation(_Strict):
    spaces: list[str] = Field(default_factory=list)
    new_author_below: int = Field(0, ge=0)


class SpamPolicy(_Strict):
    blocked_domains: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    max_links: int = Field(2, ge=0)
    shouting_min_letters: int = Field(20, ge=1)
    shouting_ratio: float = Field(0.7, gt=0.0, le=1.0)
    burst_window_s: int = Field(600, ge=1)
    burst_max: int = Field(8, ge=1)
    flood_similarity: float = Field(0.7, gt=0.0, le=1.0)
    flood_min_size: int = Field(5, ge=2)
    flood_window: int = Field(20_000, ge=10)


class Override(_Strict):
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    premoderation: bool | None = None
    reports_hide_after: int | None = Field(
        None, ge=0, description="Distinct reporters that hide an item here (0 = never)."
    )


class Policy(_Strict):
    thresholds: dict[str, Threshold]
    auto_approve: AutoApprove = Field(default_factory=AutoApprove)
    premoderation: Premoderation = Field(default_factory=Premoderation)
    spam: SpamPolicy = Field(default_factory=SpamPolicy)
    languages: dict[str, Override] = Field(default_factory=dict)
    spaces: dict[str, Override] = Field(default_factory=dict)
    reports_hide_after: int = Field(
        3, ge=0, description="Distinct reporters that hide an item (0 = never); see settings."
    )

    def hide_after(self, space: str) -> tuple[int, str]:
        """Reporters that hide an item in ``space``, and where the number comes from."""
        local = self.spaces.get(space)
        if local is not None and local.reports_hide_after is not None:
            return local.reports_hide_after, f"space {space}"
        return self.reports_hide_after, "default"

    @model_validator(mode="after")
    def _complete_defaults(self) -> Policy:
        for name, threshold in self.thresholds.items():
            if threshold.review is None or threshold.hide is None:
                raise ValueError(f"thresholds.{name}: the default needs both review and hide")
        for scope, overrides in (("languages", self.languages), ("spaces", self.spaces)):
            for key, override in overrides.items():
                unknown = set(override.thresholds) - set(self.thresholds)
                if unknown:
                    raise ValueError(
                        f"{scope}.{key}: unknown categor{'ies' if len(unknown) > 1 else 'y'} "
                        f"{', '.join(sorted(unknown))}"
                    )
        return self

    def threshold(
        self, category: str, language: str | None, space: str
    ) -> tuple[float, float, str]:
        """``(review, hide, source)`` for a category, after language then space overrides."""
        base = self.thresholds[category]
        review, hide = base.review, base.hide
        source = "default"
        for label, override in (
            (f"language {language}", self.languages.get(language or "")),
            (f"space {space}", self.spaces.get(space)),
        ):
            if override is not None and category in override.thresholds:
                local = override.thresholds[category]
                review = local.review if local.review is not None else review
                hide = local.hide if local.hide is not None else hide
                source = label
        assert review is not None and hide is not None
        return review, hide, source


class PolicyError(PermanentError, ValueError):
    """An invalid policy file; the message names the setting."""


def default_policy_path() -> Path:
    return Path(str(resources.files("pipeline.data") / "policy.toml"))


def load_policy(path: Path | None = None) -> Policy:
    target = path or default_policy_path()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"HEMICYCLE_POLICY_FILE: no such file: {target}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{target}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{target}: {describe_validation_error(exc, limit=10)}") from None


@dataclass(frozen=True)
class PolicyInputs:
    """What the policy looks at. ``scores`` includes ``spam`` (the combined spam score)."""

    space: str
    language: str | None
    scores: dict[str, float] = field(default_factory=dict)
    toxicity_available: bool = False
    unavailable_reason: str | None = None
    signal_explanations: tuple[str, ...] = ()
    cluster_id: str | None = None
    cluster_size: int = 0
    author_prior_contributions: int | None = None
    reporters: int = 0
    report_reasons: tuple[tuple[str, int], ...] = ()  # (reason, distinct reporters), by count
    illegal_grounds: tuple[str, ...] = ()
    author_premoderated: str | None = None  # the sanction that pre-moderates the author


@dataclass(frozen=True)
class PolicyDecision:
    """The action, its priority and reasons; ``rule`` names what decided (a category,
    ``reports``, ``premoderation``, ``illegal``, ``no_threshold``, …)."""

    action: Action
    priority: float
    reasons: tuple[str, ...]
    rule: str = "no_threshold"

    @property
    def state(self) -> str:
        return ACTION_STATE[self.action]


def decide(policy: Policy, facts: PolicyInputs) -> PolicyDecision:
    """Apply ``policy`` to ``facts``. Priority: the highest score relative to its threshold,
    plus one per distinct reporter (capped)."""
    hide: list[str] = []
    review: list[str] = []
    hide_rules: list[str] = []
    review_rules: list[str] = []
    severity = 0.0
    for category, value in sorted(facts.scores.items()):
        if category not in policy.thresholds:
            continue
        low, high, source = policy.threshold(category, facts.language, facts.space)
        severity = max(severity, value / low if low > 0 else value)
        if value >= high:
            hide.append(f"{category} {value:.2f} ≥ {high:.2f} (policy: {source})")
            hide_rules.append(category)
        elif value >= low:
            review.append(f"{category} {value:.2f} ≥ {low:.2f} (policy: {source})")
            review_rules.append(category)
    reported = _reports(policy, facts)
    if reported is not None:
        text, hides = reported
        (hide if hides else review).append(text)
        (hide_rules if hides else review_rules).append("reports")
    if facts.cluster_id and facts.cluster_size >= policy.spam.flood_min_size:
        if facts.cluster_id.startswith("m-"):  # pipeline.models.campaigns.campaign_id
            review.append(
                f"campaign: the same message as {facts.cluster_size - 1} contributions, "
                f"across languages, in cluster {facts.cluster_id}"
            )
            review_rules.append("campaign")
        else:
            review.append(
                f"duplicate of {facts.cluster_size - 1} contributions in cluster {facts.cluster_id}"
            )
            review_rules.append("flood")
    signals = [f"spam signal: {text}" for text in facts.signal_explanations]
    space = policy.spaces.get(facts.space)
    if facts.space in policy.premoderation.spaces or (space is not None and space.premoderation):
        hide.append(f"pre-moderation: space {facts.space} (policy)")
        hide_rules.append("premoderation")
    prior = facts.author_prior_contributions
    if prior is not None and prior < policy.premoderation.new_author_below:
        hide.append(f"pre-moderation: new author ({prior} earlier contributions)")
        hide_rules.append("premoderation")
    if facts.author_premoderated:
        hide.append(f"pre-moderation: the author is sanctioned ({facts.author_premoderated})")
        hide_rules.append("premoderation")
    if not facts.toxicity_available:
        gap = f"toxicity not scored: {facts.unavailable_reason or 'no model'}"
        if policy.auto_approve.require_toxicity:
            review.append(gap)
            review_rules.append("not_scored")
    priority = round(min(severity, 10.0) + min(facts.reporters, REPORT_PRIORITY_CAP), 3)
    if facts.illegal_grounds:
        notice = [f"notice of illegal content: {ground}" for ground in facts.illegal_grounds]
        everything = tuple(notice + hide + review + signals)
        return PolicyDecision("escalate", round(priority + 20.0, 3), everything, "illegal")
    if hide:
        return PolicyDecision(
            "auto_hide", round(priority + 10.0, 3), tuple(hide + review + signals), hide_rules[0]
        )
    if review:
        return PolicyDecision("needs_review", priority, tuple(review + signals), review_rules[0])
    if policy.auto_approve.enabled:
        return PolicyDecision("auto_approve", priority, ("no threshold reached (policy)", *signals))
    return PolicyDecision("needs_review", priority, ("auto-approval is off (policy)", *signals))


def _reports(policy: Policy, facts: PolicyInputs) -> tuple[str, bool] | None:
    """The reason people's reports add, and whether they hide the item."""
    if facts.reporters == 0:
        return None
    reasons = ", ".join(
        f"{reason} x{count}" if count > 1 else reason for reason, count in facts.report_reasons
    )
    people = "1 person" if facts.reporters == 1 else f"{facts.reporters} people"
    limit, source = policy.hide_after(facts.space)
    if limit and facts.reporters >= limit:
        return f"reported by {people} ({reasons}) ≥ {limit} (policy: {source})", True
    return f"reported by {people} ({reasons})", False
