import json

import pytest
from pydantic import ValidationError

from pipeline.config import EVENT_TOPICS
from pipeline.schemas import (
    EVENT_TYPES,
    Contribution,
    ContributionSubmitted,
    EventDecodeError,
    LanguageIdentified,
    LanguageResult,
    decode_event,
)
from tests.conftest import contribution


def submitted(**overrides: object) -> bytes:
    return json.dumps(
        {"type": "ContributionSubmitted", "contribution": contribution(**overrides)}
    ).encode()


def test_every_event_type_round_trips_through_json() -> None:
    event = ContributionSubmitted(contribution=contribution())
    derived = event.derive(
        LanguageIdentified,
        producer="langid",
        contribution=event.contribution,
        language=LanguageResult(lang="en", confidence=0.9, reliable=True, method="fasttext"),
        detector="fasttext-lid.176",
    )
    for original in (event, derived):
        decoded = decode_event(original.to_json())
        assert decoded == original
    assert derived.trace.trace_id == event.trace.trace_id
    assert derived.trace.causation_id == str(event.event_id)
    assert derived.contribution_id == "decidim-test:c-1"
    again = event.derive(
        LanguageIdentified,
        producer="langid",
        contribution=event.contribution,
        language=LanguageResult(lang="de", confidence=0.5, reliable=False, method="fasttext"),
        detector="fasttext-lid.176",
    )
    assert again.event_id == derived.event_id  # reprocessing yields the same id
    other = event.derive(
        LanguageIdentified,
        producer="langid",
        part="x",
        contribution=event.contribution,
        language=again.language,
        detector="d",
    )
    assert other.event_id != derived.event_id
    assert set(EVENT_TYPES) == {
        "ContributionSubmitted",
        "LanguageIdentified",
        "ContributionScored",
        "ContributionTranslated",
        "ModerationDecided",
        "TranslationCorrected",
        "ModerationOutcome",
        "DeadLetter",
        "ContributionReported",
        "AppealFiled",
        "AppealDecided",
        "AuthorSanctioned",
        "SanctionLifted",
        "PartyNotified",
        "ErasureRequested",
    }
    assert set(EVENT_TOPICS) == set(EVENT_TYPES)  # every event has a topic


def test_ids_are_derived_from_the_contribution_and_must_agree() -> None:
    event = decode_event(submitted(id="p-9", version=3))
    assert (event.contribution_id, event.contribution_version) == ("decidim-test:p-9", 3)
    raw = json.loads(submitted())
    raw["contribution_version"] = 2
    with pytest.raises(EventDecodeError, match="disagree"):
        decode_event(json.dumps(raw))


def test_headers_name_type_version_and_event_id() -> None:
    event = ContributionSubmitted(contribution=contribution())
    assert event.headers() == {
        "type": "ContributionSubmitted",
        "schema_version": "1.0",
        "event_id": str(event.event_id),
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "payload is not valid JSON"),
        (b"\xff\xfe\x00", "payload is not UTF-8"),
        (b"[1, 2]", "payload"),
        (b"{}", "type: missing event type"),
        (b'{"type": "Nope"}', "type: unknown event type 'Nope'"),
        (submitted(body="   \n "), "contribution.body: body is empty"),
        (submitted(body="x" * 50_001), "contribution.body: body has 50001 characters"),
        (submitted(created_at="2026-11-20T10:00:00"), "contribution.created_at"),
        (submitted(kind="not a kind!"), "contribution.kind"),
        (submitted(author=""), "contribution.author"),
        (submitted(version=0), "contribution.version"),
        (submitted(unexpected="field"), "contribution.unexpected"),
    ],
)
def test_invalid_events_are_refused_with_the_field_named(raw: bytes, reason: str) -> None:
    with pytest.raises(EventDecodeError) as err:
        decode_event(raw)
    assert reason in err.value.reason


def test_future_schema_version_is_refused() -> None:
    raw = json.loads(submitted())
    raw["schema_version"] = 99
    with pytest.raises(EventDecodeError, match="schema_version"):
        decode_event(json.dumps(raw))


def test_body_limit_comes_from_configuration_context() -> None:
    assert decode_event(submitted(body="x" * 80), context={"max_body_chars": 80})
    with pytest.raises(EventDecodeError, match="limit of 79"):
        decode_event(submitted(body="x" * 80), context={"max_body_chars": 79})


def test_expected_types_restrict_what_a_stage_accepts() -> None:
    with pytest.raises(EventDecodeError, match="not accepted here"):
        decode_event(submitted(), expected=(LanguageIdentified,))


def test_record_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(EventDecodeError, match="exceeds the limit"):
        decode_event(b"{" + b" " * 200 + b"}", max_bytes=100)


def test_contribution_normalises_kind_and_blank_title() -> None:
    c = Contribution.model_validate(contribution(kind="Proposal", title="  "))
    assert c.kind == "proposal"
    assert c.title is None
    assert c.text == c.body
    titled = Contribution.model_validate(contribution(title="Trees"))
    assert titled.text.startswith("Trees\n")


def test_contribution_is_immutable() -> None:
    c = Contribution.model_validate(contribution())
    with pytest.raises(ValidationError):
        c.body = "changed"  # type: ignore[misc]
