"""``hemicycle policy check``: what a valid policy file does, in words and examples."""

from __future__ import annotations

from pathlib import Path

from pipeline.policy import Policy, PolicyInputs, decide


def describe_policy(policy: Policy, path: Path) -> str:
    lines = [f"{path}: valid", "", "thresholds (review / hide):"]
    for category, default in policy.thresholds.items():
        lines.append(f"  {category:<16} {default.review:.2f} / {default.hide:.2f}")
        for scope, overrides in (("language", policy.languages), ("space", policy.spaces)):
            for key, override in overrides.items():
                if category in override.thresholds:
                    review, hide, _ = policy.threshold(
                        category,
                        key if scope == "language" else None,
                        key if scope == "space" else "",
                    )
                    lines.append(f"    {scope} {key}: {review:.2f} / {hide:.2f}")
    pre = policy.premoderation
    spaces = sorted(set(pre.spaces) | {k for k, o in policy.spaces.items() if o.premoderation})
    authors = f"below {pre.new_author_below} contributions" if pre.new_author_below else "off"
    lines += ["", f"pre-moderation: spaces {', '.join(spaces) or '(none)'}; new authors {authors}"]
    lines.append(
        f"auto-approve: {'on' if policy.auto_approve.enabled else 'off'}"
        f"{' (requires a toxicity score)' if policy.auto_approve.require_toxicity else ''}"
    )
    lines += ["", "what it would do:"]
    scenarios = [("clean text, all scores 0.01", {c: 0.01 for c in policy.thresholds}, True, 0)]
    for category, default in policy.thresholds.items():
        assert default.review is not None and default.hide is not None
        scenarios.append(
            (f"{category} at {default.review:.2f}", {category: default.review}, True, 0)
        )
        scenarios.append((f"{category} at {default.hide:.2f}", {category: default.hide}, True, 0))
    scenarios.append(("language without toxicity model", {"spam": 0.0}, False, 0))
    scenarios.append(("flood of 20 near-duplicates", {"spam": 0.3}, True, 20))
    for label, scores, available, cluster in scenarios:
        decision = decide(
            policy,
            PolicyInputs(
                space="(any)",
                language=None,
                scores=scores,
                toxicity_available=available,
                unavailable_reason=None if available else "language not covered",
                cluster_id="c-example" if cluster else None,
                cluster_size=cluster,
            ),
        )
        lines.append(f"  {label:<38} → {decision.action:<12} {'; '.join(decision.reasons)}")
    return "\n".join(lines)
