"""The moderation policy: thresholds, overrides per language and space, reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.policy import Policy, PolicyError, PolicyInputs, decide, load_policy

POLICY = """
[thresholds]
toxicity = { review = 0.5, hide = 0.9 }
threat = { review = 0.3, hide = 0.8 }
spam = { review = 0.5, hide = 0.9 }

[premoderation]
new_author_below = 1

[spam]
flood_min_size = 5

[languages.de.thresholds]
toxicity = { review = 0.7 }

[spaces.youth-forum]
premoderation = false
[spaces.youth-forum.thresholds]
toxicity = { review = 0.3, hide = 0.6 }

[spaces.kids]
premoderation = true
"""


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return load_policy(path)


def facts(**overrides: object) -> PolicyInputs:
    base: dict[str, object] = {
        "space": "climate",
        "language": "en",
        "scores": {},
        "toxicity_available": True,
        "author_prior_contributions": 3,
    }
    return PolicyInputs(**(base | overrides))  # type: ignore[arg-type]


def test_the_shipped_default_policy_is_valid() -> None:
    default = load_policy()
    assert {"toxicity", "threat", "spam"} <= set(default.thresholds)


def test_clean_items_are_auto_approved(policy: Policy) -> None:
    decision = decide(policy, facts(scores={"toxicity": 0.1, "threat": 0.05, "spam": 0.0}))
    assert decision.action == "auto_approve"
    assert decision.state == "auto_approved"


def test_review_and_hide_thresholds_with_reasons(policy: Policy) -> None:
    review = decide(policy, facts(scores={"threat": 0.41}))
    assert review.action == "needs_review"
    assert review.reasons == ("threat 0.41 ≥ 0.30 (policy: default)",)
    hidden = decide(policy, facts(scores={"threat": 0.91, "toxicity": 0.6}))
    assert hidden.action == "auto_hide"
    assert hidden.reasons[0] == "threat 0.91 ≥ 0.80 (policy: default)"
    assert "toxicity 0.60 ≥ 0.50 (policy: default)" in hidden.reasons
    assert hidden.priority > review.priority


def test_language_override_then_space_override(policy: Policy) -> None:
    assert decide(policy, facts(language="de", scores={"toxicity": 0.6})).action == "auto_approve"
    german = decide(policy, facts(language="de", scores={"toxicity": 0.75}))
    assert german.reasons == ("toxicity 0.75 ≥ 0.70 (policy: language de)",)
    youth = decide(policy, facts(language="de", space="youth-forum", scores={"toxicity": 0.65}))
    assert youth.action == "auto_hide"  # the space wins over the language
    assert youth.reasons[0] == "toxicity 0.65 ≥ 0.60 (policy: space youth-forum)"


def test_premoderation_per_space_and_for_new_authors(policy: Policy) -> None:
    kids = decide(policy, facts(space="kids", scores={"toxicity": 0.0}))
    assert kids.action == "auto_hide"
    assert kids.reasons == ("pre-moderation: space kids (policy)",)
    newcomer = decide(policy, facts(author_prior_contributions=0, scores={"toxicity": 0.0}))
    assert newcomer.reasons == ("pre-moderation: new author (0 earlier contributions)",)


def test_floods_and_unscored_toxicity_go_to_review(policy: Policy) -> None:
    flood = decide(
        policy, facts(scores={"toxicity": 0.0, "spam": 0.3}, cluster_id="c-12", cluster_size=38)
    )
    assert flood.reasons == ("duplicate of 37 contributions in cluster c-12",)
    unscored = decide(
        policy,
        facts(toxicity_available=False, unavailable_reason="language ga", scores={"spam": 0.0}),
    )
    assert unscored.action == "needs_review"
    assert unscored.reasons == ("toxicity not scored: language ga",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\ntoxicity = { review = 0.9, hide = 0.5 }\n", "hide (0.5) is below review"),
        ("[thresholds]\ntoxicity = { review = 1.5, hide = 0.9 }\n", "thresholds.toxicity.review"),
        ("[thresholds]\ntoxicity = { review = 0.5 }\n", "needs both review and hide"),
        (
            "[thresholds]\ntoxicity = { review = 0.5, hide = 0.9 }\n[languages.de.thresholds]\n"
            "threat = { review = 0.1 }\n",
            "languages.de: unknown category threat",
        ),
        ("[thresholds\n", "not valid TOML"),
        ("[thresholds]\ntoxicity = { review = 0.5, hide = 0.9 }\nsurprise = 1\n", "surprise"),
    ],
)
def test_invalid_policies_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_policy(path)


def test_policy_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    assert main(["policy", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: valid" in out
    assert "language de: 0.70 / 0.90" in out
    assert "pre-moderation: spaces kids" in out
    assert "threat at 0.80" in out and "auto_hide" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds\n")
    assert main(["policy", "check", str(bad)]) == 1
    assert "invalid policy" in capsys.readouterr().err
