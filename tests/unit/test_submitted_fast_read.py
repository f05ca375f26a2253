"""``ContributionSubmitted.read_json``: the one-pass reader of the input topic's common shape.

Whatever it accepts, the full validation accepts as the very same event; whatever it declines
(None) is left to the full validation, which upcasts it or says what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline.schemas import ContributionSubmitted

CONTEXT = {"max_body_chars": 300, "max_title_chars": 40}

GOOD: dict[str, Any] = {
    "event_id": "00000000-0000-4000-8000-000000000001",
    "type": "ContributionSubmitted",
    "schema_version": "1.0",
    "occurred_at": "2026-11-21T09:30:00Z",
    "contribution_id": "decidim:c-1",
    "contribution_version": 2,
    "trace": {"trace_id": "t-1", "causation_id": None, "producer": None},
    "contribution": {
        "id": "c-1",
        "version": 2,
        "platform": "decidim",
        "space": "budgets",
        "kind": "proposal",
        "author": "u-9",
        "title": "Mehr Radwege",
        "body": "Die Stadt sollte mehr sichere Radwege bauen.",
        "created_at": "2026-11-20T08:00:00+01:00",
        "locale_hint": "de",
    },
}

MISSING = object()
envelope_values: dict[str, list[Any]] = {
    "event_id": [
        MISSING,
        "not-a-uuid",
        "00000000000040008000000000000001",
        "{00000000-0000-4000-8000-000000000002}",
    ],
    "type": [MISSING, "LanguageIdentified", None],
    "schema_version": [MISSING, "", "1", "01.0", 1, "1.7", "1.07", "2.0", "0.9", "x", None],
    "occurred_at": [MISSING, "2026-11-21T09:30:00", "2026-11-21T10:30:00.5+01:00", 1700000000],
    "contribution_id": [MISSING, "decidim:c-2", "", " decidim:c-1"],
    "contribution_version": [MISSING, 1, 3, "2", 2.0, True, 0],
    "trace": [
        MISSING,
        None,
        {"trace_id": "t-2", "extra": 1},
        {},
        {"trace_id": "t", "causation_id": "e"},
    ],
    "extra": [1],
}
contribution_values: dict[str, list[Any]] = {
    "id": [" c-1 ", "", "c-1" * 70, 1],
    "version": [1, 3, "2", 2.0, True, 0, None],
    "platform": ["a:b", "deci dim", "", MISSING],
    "kind": ["PROPOSAL", "bad kind", "9x", MISSING],
    "author": [" ", "enc1.k.token", "x" * 201, MISSING],
    "title": [None, "   ", "x" * 41, "enc1.k." + "t" * 80, MISSING],
    "body": ["", "  ", "x" * 301, "enc1.k." + "b" * 400, "Sí \u00e9", MISSING],
    "created_at": ["2026-11-20T08:00:00", "2026-11-20", MISSING],
    "locale_hint": [None, "x" * 36, "pt_BR"],
    "parent_id": [None, "", "p-1"],
    "url": ["u" * 2001, "https://example.org/p/1"],
    "extra": [1],
}


def mutated(base: dict[str, Any], choices: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, value in choices.items():
        if value is MISSING:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def changes(values: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(sorted(values)), st.none(), max_size=1).flatmap(
        lambda picked: st.fixed_dictionaries(
            {name: st.sampled_from(values[name]) for name in picked}
        )
    )


def full(value: bytes) -> ContributionSubmitted | str:
    try:
        return ContributionSubmitted.model_validate_json(
            value, context={**CONTEXT, "require_type": True}
        )
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])


@settings(max_examples=400, deadline=None)
@given(envelope=changes(envelope_values), inner=changes(contribution_values))
def test_what_the_quick_reader_accepts_the_full_validation_reads_alike(
    envelope: dict[str, Any], inner: dict[str, Any]
) -> None:
    record = mutated(GOOD, envelope)
    if isinstance(record.get("contribution"), dict):
        record["contribution"] = mutated(record["contribution"], inner)
    value = json.dumps(record).encode()
    quick = ContributionSubmitted.read_json(value, {**CONTEXT, "require_type": True})
    expected = full(value)
    if quick is None:
        return  # the full validation decides (tested below for the shapes that matter)
    assert isinstance(expected, ContributionSubmitted), expected
    if "trace_id" not in record["trace"]:  # a fresh random one, in each reading
        quick = quick.model_copy(update={"trace": expected.trace})
    assert quick == expected
    assert quick.model_fields_set == expected.model_fields_set
    assert quick.to_json() == expected.to_json()
    assert quick.contribution.model_fields_set == expected.contribution.model_fields_set


def test_the_common_shape_is_read_in_one_pass() -> None:
    value = json.dumps(GOOD).encode()
    quick = ContributionSubmitted.read_json(value, CONTEXT)
    assert quick is not None
    assert quick == ContributionSubmitted.model_validate_json(value, context=CONTEXT)
    sealed = mutated(
        GOOD, {"contribution": {**GOOD["contribution"], "body": "enc1.k." + "b" * 900}}
    )
    assert ContributionSubmitted.read_json(json.dumps(sealed), CONTEXT) is not None


def test_shapes_the_full_validation_fills_in_or_upcasts_are_left_to_it() -> None:
    """The full validation normalises these (a version "1" reads as "1.0", missing ids are
    derived from the contribution): the quick reader leaves them alone."""
    for change in (
        {"schema_version": "1"},
        {"schema_version": 1},
        {"schema_version": "01.0"},
        {"schema_version": MISSING},
        {"contribution_id": MISSING},
        {"contribution_version": MISSING},
        {"trace": MISSING},
        {"event_id": MISSING},
        {"occurred_at": MISSING},
    ):
        value = json.dumps(mutated(GOOD, change)).encode()
        assert ContributionSubmitted.read_json(value, CONTEXT) is None, change
        assert isinstance(full(value), ContributionSubmitted), change


def test_ids_that_disagree_with_the_contribution_are_left_to_the_full_validation() -> None:
    value = json.dumps(mutated(GOOD, {"contribution_id": "decidim:c-2"})).encode()
    assert ContributionSubmitted.read_json(value, CONTEXT) is None
    assert "disagree" in str(full(value))


text = st.text(max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {
            "id": text,
            "space": text,
            "kind": st.one_of(text, st.from_regex(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")),
            "author": text,
            "title": st.one_of(st.none(), text),
            "body": text,
            "locale_hint": st.one_of(st.none(), text),
            "parent_id": st.one_of(st.none(), text),
        }
    )
)
def test_on_the_current_envelope_both_read_any_contribution_alike(fields: dict[str, Any]) -> None:
    """Envelope in the current shape, contribution arbitrary: the quick reader reads every
    valid one (the full validation is not needed for it) and reads it as the full one does."""
    inner = {**GOOD["contribution"], **fields}
    record = {**GOOD, "contribution": inner}
    if isinstance(inner["id"], str) and inner["id"].strip():
        record["contribution_id"] = f"decidim:{inner['id'].strip()}"
    value = json.dumps(record).encode()
    quick = ContributionSubmitted.read_json(value, CONTEXT)
    expected = full(value)
    if isinstance(expected, ContributionSubmitted):
        assert quick == expected
        assert quick.to_json() == expected.to_json()
    else:
        assert quick is None
