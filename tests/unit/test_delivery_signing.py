"""Webhook signatures: what platforms verify (``X-Hemicycle-Signature: t=…,v1=…``)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from pipeline.delivery.signing import sign, verify

SECRET = "whsec-test-0123456789"
BODY = b'{"type":"moderation.outcome","outcome":"hidden","reasons":["spam \xc3\xa9"]}'
NOW = 1_790_000_000


def test_the_header_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    assert verify(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW)
    assert verify(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW + 299)
    assert verify(SECRET.encode(), BODY, sign(SECRET, BODY, NOW), now=NOW)


def test_a_tampered_body_fails() -> None:
    header = sign(SECRET, BODY, NOW)
    assert not verify(SECRET, BODY.replace(b"hidden", b"approved"), header, now=NOW)
    assert not verify(SECRET, BODY + b" ", header, now=NOW)


def test_a_tampered_timestamp_fails() -> None:
    mac = sign(SECRET, BODY, NOW).split(",v1=")[1]
    assert not verify(SECRET, BODY, f"t={NOW + 60},v1={mac}", now=NOW + 60)


def test_another_secret_fails() -> None:
    assert not verify("another secret", BODY, sign(SECRET, BODY, NOW), now=NOW)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_stale_or_future_timestamps_fail(age: int) -> None:
    assert not verify(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW + age)


def test_the_tolerance_is_adjustable() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify(SECRET, BODY, header, tolerance_s=3600, now=NOW + 3000)
    assert not verify(SECRET, BODY, header, tolerance_s=10, now=NOW + 11)


def test_verify_defaults_to_the_current_time() -> None:
    import time

    assert verify(SECRET, BODY, sign(SECRET, BODY, int(time.time())))
    assert not verify(SECRET, BODY, sign(SECRET, BODY, NOW - 10_000))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"t={NOW}",
        "v1=abcdef",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},v1=",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=é{'0' * 63}",
    ],
)
def test_malformed_headers_fail_without_raising(header: str | None) -> None:
    assert not verify(SECRET, BODY, header, now=NOW)


def test_any_of_several_v1_entries_may_match() -> None:
    good = sign(SECRET, BODY, NOW).split(",v1=")[1]
    assert verify(SECRET, BODY, f"t={NOW},v1={'0' * 64},v1={good}", now=NOW)
