"""Statements of reasons in the DSA Transparency Database's fields: mapping, rules, scrubbing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipeline.dsa import codes
from pipeline.dsa.categories import (
    REJECT_REASONS,
    REPORT_REASONS,
    SCORED_CATEGORIES,
    TAXONOMY,
    CategoryTableError,
    load_table,
)
from pipeline.dsa.export import people
from pipeline.dsa.scrub import EMAIL_MARK, NAME_MARK, PHONE_MARK, scrub
from pipeline.dsa.statement import WARNING_TEXT, DsaRefused, to_dsa, validate_dsa
from pipeline.schemas.statements import RESTRICTIONS
from tests.dsa_statements import item_with, statement

TABLE = load_table()


def test_every_taxonomy_key_has_its_own_row() -> None:
    assert set(REPORT_REASONS) | set(REJECT_REASONS) | set(SCORED_CATEGORIES) <= set(TAXONOMY)
    assert {"flood", "campaign", "premoderation"} <= set(TAXONOMY)
    assert TABLE.unmapped() == []


@pytest.mark.parametrize("key", TAXONOMY)
def test_every_taxonomy_key_maps_onto_accepted_codes(key: str) -> None:
    row = TABLE.lookup(key)
    assert row.category in codes.STATEMENT_CATEGORIES
    assert all(keyword in codes.KEYWORDS for keyword in row.specification)
    out = to_dsa(statement(category=key), table=TABLE)
    assert out["category"] == row.category
    assert out.get("category_specification", []) == list(row.specification)


def test_chosen_categories() -> None:
    assert TABLE.lookup("illegal").category == "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    assert TABLE.lookup("harassment").specification == ("KEYWORD_CYBER_HARASSMENT",)
    assert TABLE.lookup("misinformation").category == (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    spam = to_dsa(statement(category="spam"), table=TABLE)
    assert spam["category_specification"] == ["KEYWORD_OTHER"]
    assert spam["category_specification_other"] == "Spam"


def test_unknown_key_takes_the_documented_fallback() -> None:
    out = to_dsa(statement(category="a_reason_added_later"), table=TABLE)
    assert out["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert "category_specification" not in out


RESTRICTION_FIELDS: dict[str, dict[str, Any]] = {
    "hidden": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]},
    "rejected": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]},
    "warn": {
        "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
        "decision_visibility_other": WARNING_TEXT,
    },
    "suspend": {
        "decision_account": "DECISION_ACCOUNT_SUSPENDED",
        "end_date_account_restriction": "2026-12-21",
    },
    "ban": {"decision_account": "DECISION_ACCOUNT_TERMINATED"},
    "premoderate": {
        "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION",
        "end_date_service_restriction": "2026-12-21",
    },
}
DECISION_KEYS = (
    "decision_visibility",
    "decision_visibility_other",
    "decision_account",
    "decision_provision",
    "decision_monetary",
    "end_date_account_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)


@pytest.mark.parametrize("restriction", RESTRICTIONS)
def test_every_restriction_kind(restriction: str) -> None:
    end = None if restriction in ("hidden", "rejected", "warn", "ban") else date(2026, 12, 21)
    out = to_dsa(statement(restriction=restriction, end_date=end), table=TABLE)
    assert {k: out[k] for k in DECISION_KEYS if k in out} == RESTRICTION_FIELDS[restriction]


def test_hidden_until_a_date_has_a_visibility_end_date() -> None:
    out = to_dsa(statement(restriction="hidden", end_date=date(2026, 12, 1)), table=TABLE)
    assert out["end_date_visibility_restriction"] == "2026-12-01"


def test_fields_in_the_apis_codes() -> None:
    out = to_dsa(statement(), table=TABLE, territorial_scope=["FR", "BE"])
    assert out["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert out["content_language"] == "FR"
    assert out["territorial_scope"] == ["BE", "FR"]
    assert (out["content_date"], out["application_date"]) == ("2026-11-20", "2026-11-21")
    assert out["source_type"] == "SOURCE_VOLUNTARY"
    assert out["automated_detection"] == "Yes"
    assert out["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert out["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert out["incompatible_content_ground"] == "decidim-test moderation policy: harassment"
    assert out["incompatible_content_explanation"] == statement().facts  # from the facts
    assert out["incompatible_content_illegal"] == "No"
    assert not any(k.startswith("illegal_content") for k in out)
    assert out["puid"] == statement().puid


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("article_16", "SOURCE_ARTICLE_16"),
        ("trusted_flagger", "SOURCE_TRUSTED_FLAGGER"),
        ("other_notification", "SOURCE_TYPE_OTHER_NOTIFICATION"),
        ("voluntary", "SOURCE_VOLUNTARY"),
    ],
)
def test_sources_and_no_source_identity(source: str, code: str) -> None:
    out = to_dsa(statement(source=source), table=TABLE)
    assert out["source_type"] == code
    assert "source_identity" not in out


@pytest.mark.parametrize(
    ("automation", "code"),
    [
        ("fully", "AUTOMATED_DECISION_FULLY"),
        ("partially", "AUTOMATED_DECISION_PARTIALLY"),
        ("not", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    ],
)
def test_automated_decision_codes(automation: str, code: str) -> None:
    assert to_dsa(statement(automated_decision=automation))["automated_decision"] == code


def test_illegal_ground_carries_its_fields() -> None:
    out = to_dsa(
        statement(
            ground="illegal",
            category="illegal",
            legal_ground="§ 130 StGB (Volksverhetzung)",
            illegal_explanation="Calls for violence against a group; reported by jane@example.org",
            incompatible_ground=None,
            source="article_16",
        ),
        table=TABLE,
    )
    assert out["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert out["illegal_content_legal_ground"] == "§ 130 StGB (Volksverhetzung)"
    assert out["illegal_content_explanation"].endswith(f"reported by {EMAIL_MARK}")
    assert not any(k.startswith("incompatible_content") for k in out)


def test_terms_decision_on_an_illegal_category_says_the_content_is_illegal_too() -> None:
    out = to_dsa(statement(category="illegal"), table=TABLE)
    assert out["incompatible_content_illegal"] == "Yes"


def test_unknown_or_odd_language_is_left_out() -> None:
    assert "content_language" not in to_dsa(statement(content_language="und"))
    assert "content_language" not in to_dsa(statement(content_language=None))
    assert to_dsa(statement(content_language="el"))["content_language"] == "EL"


def test_no_personal_data_leaves() -> None:
    out = to_dsa(
        statement(facts="Author author-secret-7 wrote to me: call +49 30 1234567 or a.b@c.de")
    )
    text = repr(out)
    assert "moderator-alice" not in text and "decided_by" not in text
    assert "decidim-test:c-1" not in text and "contribution_id" not in text
    assert "1234567" not in text and "a.b@c.de" not in text
    assert out["decision_facts"].endswith(f"call {PHONE_MARK} or {EMAIL_MARK}")


def test_facts_stay_within_5000_after_scrubbing() -> None:
    facts = ("a@b.co " * 800)[:5000]
    out = to_dsa(statement(facts=facts))
    assert len(out["decision_facts"]) <= 5000
    assert "@" not in out["decision_facts"]
    assert len(out["incompatible_content_explanation"]) <= 2000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to john.doe+tag@example.co.uk.", f"Write to {EMAIL_MARK}."),
        ("JOHN@EXAMPLE.COM", EMAIL_MARK),
        ("mail jane [at] example [dot] org now", f"mail {EMAIL_MARK} now"),
        ("jane(at)example(dot)org", EMAIL_MARK),
        ("mailto:a@b.fr", EMAIL_MARK),
        ("josé@exämple.de est là", f"{EMAIL_MARK} est là"),
        ("Mail me at a@b.com. Thanks", f"Mail me at {EMAIL_MARK}. Thanks"),
        ("Ruf an: +33 6 12 34 56 78!", f"Ruf an: {PHONE_MARK}!"),
        ("call 06 12 34 56 78", f"call {PHONE_MARK}"),
        ("call 0612345678", f"call {PHONE_MARK}"),
        ("tel (030) 123-4567", f"tel {PHONE_MARK}"),
        ("+44 (0)20 7946 0958", PHONE_MARK),
        ("+1.555.123.4567", PHONE_MARK),
        ("contact: 0044 20 7946 0958.", f"contact: {PHONE_MARK}."),
        # Same shapes that are no contact: kept.
        ("On 2024-11-20 and 20.11.2026", "On 2024-11-20 and 20.11.2026"),
        ("between 2020-2024 and 2025 / 2030", "between 2020-2024 and 2025 / 2030"),
        ("budget 10 000 000 euros, 1.234.567,89", "budget 10 000 000 euros, 1.234.567,89"),
        ("meeting at 10:30, room 12, 75001 Paris", "meeting at 10:30, room 12, 75001 Paris"),
        ("proposal #12345678, version 1.2.3", "proposal #12345678, version 1.2.3"),
        ("user@localhost", "user@localhost"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def valid() -> dict[str, Any]:
    return to_dsa(statement())


def refused_fields(data: dict[str, Any]) -> set[str]:
    with pytest.raises(DsaRefused) as caught:
        validate_dsa(data)
    assert caught.value.puid == data.get("puid")
    assert all(field in str(caught.value) for field in caught.value.problems)
    return set(caught.value.problems)


def without(*names: str, **changes: Any) -> dict[str, Any]:
    data = {k: v for k, v in valid().items() if k not in names}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (
            without("decision_ground", "incompatible_content_ground")
            | {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
            {
                "illegal_content_legal_ground",
                "illegal_content_explanation",
                "incompatible_content_explanation",
                "incompatible_content_illegal",
            },
        ),
        (without("incompatible_content_ground"), {"incompatible_content_ground"}),
        (without("decision_visibility"), {"decision_visibility"}),
        (without(decision_visibility=["DECISION_VISIBILITY_OTHER"]), {"decision_visibility_other"}),
        (without(decision_visibility=["DECISION_VISIBILITY_HIDDEN"]), {"decision_visibility"}),
        (without(decision_account="DECISION_ACCOUNT_BANNED"), {"decision_account"}),
        (without(content_type=[]), {"content_type"}),
        (without(content_type=["CONTENT_TYPE_OTHER"]), {"content_type_other"}),
        (without(category="STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"), {"category"}),
        (without(category_specification=["KEYWORD_SPAM"]), {"category_specification"}),
        (without(territorial_scope=["EL"]), {"territorial_scope"}),
        (without(content_language="fr"), {"content_language"}),
        (without(content_date="2026-11-2"), {"content_date"}),
        (without(content_date="1999-12-31"), {"content_date"}),
        (without(application_date="2019-12-31"), {"application_date"}),
        (without(application_date="2038-01-02"), {"application_date"}),
        (without(application_date="2026-02-30"), {"application_date"}),
        (without(end_date_account_restriction="2026-11-20"), {"end_date_account_restriction"}),
        (without(decision_facts="   "), {"decision_facts"}),
        (without(decision_facts="x" * 5001), {"decision_facts"}),
        (
            without(incompatible_content_explanation="x" * 2001),
            {"incompatible_content_explanation"},
        ),
        (without(incompatible_content_ground="x" * 501), {"incompatible_content_ground"}),
        (without(source_type="SOURCE_NOTICE"), {"source_type"}),
        (without(source_identity="Trusted flagger org"), {"source_identity"}),
        (without(automated_detection=True), {"automated_detection"}),
        (without(automated_decision="AUTOMATED_DECISION_NO"), {"automated_decision"}),
        (without(puid="hc.1"), {"puid"}),
        (without(puid="x" * 501), {"puid"}),
        (without("puid"), {"puid"}),
        (without(decision_ground_reference_url="not a url"), {"decision_ground_reference_url"}),
        (without(decided_by="moderator-alice"), {"decided_by"}),
    ],
)
def test_store_request_rules_name_the_field(data: dict[str, Any], fields: set[str]) -> None:
    assert refused_fields(data) == fields


def test_source_identity_is_accepted_for_a_notice() -> None:
    data = without(source_type="SOURCE_TRUSTED_FLAGGER", source_identity="A flagger body")
    assert validate_dsa(data).source_identity == "A flagger body"


def test_an_invalid_statement_is_refused_on_conversion() -> None:
    broken = statement(ground="illegal", legal_ground=None, incompatible_ground=None)
    with pytest.raises(DsaRefused) as caught:
        to_dsa(broken)
    assert caught.value.puid == broken.puid
    assert set(caught.value.problems) == {"illegal_content_legal_ground"}


def test_an_operators_table_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "categories.toml"
    path.write_text(
        '[fallback]\ncategory = "STATEMENT_CATEGORY_VIOLENCE"\n'
        '[categories.spam]\ncategory = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"\n'
        'specification = ["KEYWORD_PHISHING"]\n'
    )
    table = load_table(path)
    assert to_dsa(statement(category="spam"), table=table)["category"] == (
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    )
    assert to_dsa(statement(category="insult"), table=table)["category"] == (
        "STATEMENT_CATEGORY_VIOLENCE"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[fallback]\ncategory = "STATEMENT_CATEGORY_NOPE"\n', "fallback.category"),
        (
            '[fallback]\ncategory = "STATEMENT_CATEGORY_VIOLENCE"\n[categories.spam]\n'
            'category = "STATEMENT_CATEGORY_VIOLENCE"\nspecification = ["KEYWORD_NOPE"]\n',
            "categories.spam.specification",
        ),
        (
            '[fallback]\ncategory = "STATEMENT_CATEGORY_VIOLENCE"\nspecification_other = "x"\n',
            "fallback",
        ),
        ("[categories.spam]\n", "fallback"),
        ("not toml [", "not TOML"),
    ],
)
def test_a_bad_table_is_refused_naming_the_row(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "categories.toml"
    path.write_text(text)
    with pytest.raises(CategoryTableError, match=named.replace(".", r"\.")):
        load_table(path)


def test_the_people_concerned_are_removed_from_free_texts() -> None:
    out = to_dsa(
        statement(
            facts="Reported by Reporter-42 and Jane Roe; moderator-alice agreed. Ana said no.",
            incompatible_explanation="Jane Roe's complaint about u-1 stands.",
        ),
        private=["reporter-42", "Jane Roe", "u-1", "ab"],
    )
    assert out["decision_facts"] == (
        f"Reported by {NAME_MARK} and {NAME_MARK}; {NAME_MARK} agreed. Ana said no."
    )
    assert (
        out["incompatible_content_explanation"]
        == f"{NAME_MARK}'s complaint about {NAME_MARK} stands."
    )


def test_people_of_an_item_are_collected() -> None:
    item = item_with(1, [statement(1)])
    assert {"author-secret-7", "moderator-alice"} <= set(people(item))
