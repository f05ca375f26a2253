"""Sealed personal fields: what is sealed, what opens, what an erased key leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.privacy.keyring import DATA_KEYS, Keyring, key_id
from pipeline.privacy.sealing import ERASED_TEXT, Sealer, SealError, is_sealed
from pipeline.schemas import (
    ContributionSubmitted,
    ContributionTranslated,
    ModerationOutcome,
    Translation,
    decode_event,
)
from pipeline.schemas.moderation import AppealFiled
from pipeline.store.embedded import EmbeddedStore
from tests.conftest import contribution


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store.sqlite3")


def submitted(n: int = 1, **fields: object) -> ContributionSubmitted:
    return ContributionSubmitted(contribution=contribution(n, title="A title", **fields))


def test_personal_fields_are_sealed_and_open_again(store: EmbeddedStore) -> None:
    sealer = Sealer(Keyring(store))
    event = submitted(author="u-" + "x" * 198)  # the longest author id still round-trips
    raw = sealer.seal(event).to_json()
    for text in (event.contribution.body, event.contribution.title, event.contribution.author):
        assert text.encode() not in raw
    read = decode_event(raw)  # validated with the tokens in place
    assert is_sealed(read.contribution.body)
    assert Sealer(Keyring(store)).open(read) == event  # another process, the same key


def test_the_moderation_record_stays_in_the_clear(store: EmbeddedStore) -> None:
    outcome = ModerationOutcome(
        contribution_id="decidim-test:c-1",
        contribution_version=1,
        platform="decidim-test",
        outcome="rejected",
        automatic=False,
        reasons=["spam"],
    )
    assert Sealer(Keyring(store)).seal(outcome) is outcome


def test_an_erased_key_opens_as_erased_and_new_events_are_born_erased(
    store: EmbeddedStore,
) -> None:
    sealer = Sealer(Keyring(store))
    event = submitted()
    sealed = decode_event(sealer.seal(event).to_json())
    Keyring(store).erase([event.contribution_id])
    reader = Sealer(Keyring(store))
    opened = reader.open(sealed).contribution
    assert (opened.body, opened.title, opened.author) == (ERASED_TEXT,) * 3
    translated = ContributionTranslated(
        contribution_id=event.contribution_id,
        contribution_version=1,
        source_language="en",
        translations=[
            Translation(field="body", target_language="de", text="Bäume", origin="machine")
        ],
    )
    assert reader.seal(translated).translations[0].text == ERASED_TEXT


def test_an_erased_author_s_next_contribution_is_erased_on_arrival(store: EmbeddedStore) -> None:
    keyring = Keyring(store)
    first = submitted(1, author="u-gone")
    Sealer(keyring).seal(first)
    assert keyring.erase_author("decidim-test", "u-gone") == [first.contribution_id]
    later = Sealer(Keyring(store)).seal(submitted(2, author="u-gone"))
    assert later.contribution.body == ERASED_TEXT
    assert store.cache_get(DATA_KEYS, key_id(later.contribution_id)) == "erased"


def test_a_token_moved_to_another_contribution_or_forged_does_not_open(
    store: EmbeddedStore,
) -> None:
    sealer = Sealer(Keyring(store))
    one, two = sealer.seal(submitted(1)), sealer.seal(submitted(2))
    moved = two.model_copy(
        update={"contribution": two.contribution.model_copy(update={"body": one.contribution.body})}
    )
    assert sealer.open(moved).contribution.body == submitted(1).contribution.body  # its own key
    kid = key_id(two.contribution_id)
    forged = one.contribution.body.replace(key_id(one.contribution_id), kid)
    tampered = two.model_copy(
        update={"contribution": two.contribution.model_copy(update={"body": forged})}
    )
    with pytest.raises(SealError, match="cannot be opened"):
        sealer.open(tampered)
    unknown = two.model_copy(
        update={"contribution": two.contribution.model_copy(update={"body": "enc1.0000.AAAA"})}
    )
    with pytest.raises(SealError, match="no data key"):
        sealer.open(unknown)


def test_an_author_s_appeal_is_sealed_a_reporter_s_is_not(store: EmbeddedStore) -> None:
    sealer = Sealer(Keyring(store))
    sealer.seal(submitted())

    def appeal(role: str) -> AppealFiled:
        return AppealFiled(
            contribution_id="decidim-test:c-1",
            contribution_version=1,
            platform="decidim-test",
            appellant="u-1",
            appellant_role=role,  # type: ignore[arg-type]
            statement="It was fine.",
        )

    assert is_sealed(sealer.seal(appeal("author")).statement)
    assert sealer.seal(appeal("reporter")).statement == "It was fine."


def test_a_text_opened_is_sealed_again_as_the_token_it_came_in(store: EmbeddedStore) -> None:
    """A worker passing its input on writes the input's ciphertext: replays give equal bytes."""
    sealed = decode_event(Sealer(Keyring(store)).seal(submitted()).to_json())
    worker = Sealer(Keyring(store))
    opened = worker.open(sealed)
    assert opened.contribution.body == submitted().contribution.body
    again = worker.seal(opened)
    assert again.contribution == sealed.contribution
    assert worker.seal(worker.open(sealed)).to_json() == again.to_json()
    fresh = worker.seal(submitted(body="Another text, never opened here."))
    assert fresh.contribution.body != sealed.contribution.body


def test_a_text_opened_before_its_erasure_is_not_sealed_again(store: EmbeddedStore) -> None:
    event = submitted()
    sealed = decode_event(Sealer(Keyring(store)).seal(event).to_json())
    worker = Sealer(Keyring(store))
    opened = worker.open(sealed)
    worker.keyring.erase([event.contribution_id])
    resealed = worker.seal(opened).contribution
    assert (resealed.body, resealed.title, resealed.author) == (ERASED_TEXT,) * 3


def test_a_reader_opens_only_the_fields_it_names(store: EmbeddedStore) -> None:
    """Language ID reads title and body: the author stays sealed, and passes on as it came."""
    sealed = decode_event(Sealer(Keyring(store)).seal(submitted()).to_json())
    worker = Sealer(Keyring(store))
    [opened] = worker.open_many([sealed], frozenset({"title", "body"}))
    assert (opened.contribution.title, opened.contribution.body) == (
        "A title",
        submitted().contribution.body,
    )
    assert opened.contribution.author == sealed.contribution.author
    assert is_sealed(opened.contribution.author)
    assert worker.seal(opened).to_json() == sealed.to_json()


def test_a_field_that_came_in_plaintext_is_sealed_on_the_way_out(store: EmbeddedStore) -> None:
    """A platform's plaintext body beside a sealed author: only what was all sealed passes on
    as it came; the rest is sealed field by field."""
    keyring = Keyring(store)
    plain = submitted()
    sealed = decode_event(Sealer(keyring).seal(plain).to_json())
    inner = sealed.contribution.model_copy(update={"body": plain.contribution.body})
    mixed = sealed.model_copy(update={"contribution": inner})
    worker = Sealer(Keyring(store))
    opened = worker.open(mixed)
    out = worker.seal(opened).contribution
    assert is_sealed(out.body) and out.author == sealed.contribution.author
    assert worker.open(worker.seal(opened)) == plain
