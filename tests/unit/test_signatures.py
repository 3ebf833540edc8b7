"""Webhook signatures: HMAC-SHA256 over the timestamp and the raw body."""

import hashlib
import hmac

import pytest

from shared.errors import Unauthorized
from shared.signatures import MAX_SIGNATURES, compute_signature, parse_header, sign, tolerance_seconds, verify

SECRET = "whsec_test_0123456789"
BODY = b'{"eventId": "evt_1", "type": "payment.succeeded"}'
NOW = 1_800_000_000


def rejection(header, body=BODY, secret=SECRET, now=NOW, tolerance=300) -> Unauthorized:
    with pytest.raises(Unauthorized) as raised:
        verify(header, body, secret, now=now, tolerance=tolerance)
    return raised.value


def test_signature_is_hmac_sha256_of_timestamp_and_body():
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()

    assert compute_signature(SECRET, BODY, NOW) == expected
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_signed_body_is_accepted():
    assert verify(sign(SECRET, BODY, NOW), BODY, SECRET, now=NOW) == NOW


def test_spaced_upper_case_header_is_accepted():
    digest = compute_signature(SECRET, BODY, NOW).upper()

    assert verify(f"t={NOW}, v1={digest}", BODY, SECRET, now=NOW) == NOW


def test_any_matching_v1_is_accepted():
    header = sign(["old-secret", SECRET], BODY, NOW)

    assert header.count("v1=") == 2
    assert verify(header, BODY, SECRET, now=NOW) == NOW
    assert verify(header, BODY, "old-secret", now=NOW) == NOW


def test_unknown_schemes_are_ignored():
    header = f"t={NOW},v0=abc,v1={compute_signature(SECRET, BODY, NOW)}"

    assert verify(header, BODY, SECRET, now=NOW) == NOW


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_rejected(header):
    assert rejection(header).code == "SIGNATURE_MISSING"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"v1={'a' * 64}",
        f"t=,v1={'a' * 64}",
        f"t=-5,v1={'a' * 64}",
        f"t=1.5,v1={'a' * 64}",
        f"t={NOW},t={NOW},v1={'a' * 64}",
        f"t={NOW}",
        f"t={NOW},v1=xyz",
        f"t={NOW},v1={'a' * 63}",
        f"t={NOW}," + ",".join([f"v1={'a' * 64}"] * (MAX_SIGNATURES + 1)),
        f"t={NOW},v1={'a' * 64}," + "x" * 2000,
    ],
)
def test_malformed_header_is_rejected(header):
    assert rejection(header).code == "SIGNATURE_MALFORMED"


def test_parse_returns_timestamp_and_lower_case_digests():
    parsed = parse_header(f"t={NOW},v1={'A' * 64},v1={'b' * 64}")

    assert parsed.timestamp == NOW
    assert parsed.signatures == ("a" * 64, "b" * 64)


@pytest.mark.parametrize(
    ("header", "body", "secret"),
    [
        (sign(SECRET, BODY, NOW), BODY + b" ", SECRET),
        (sign(SECRET, BODY, NOW), BODY, "another-secret"),
        (sign(SECRET, BODY, NOW).replace(f"t={NOW}", f"t={NOW + 1}"), BODY, SECRET),
        (f"t={NOW},v1={'0' * 64}", BODY, SECRET),
    ],
    ids=["changed-body", "other-secret", "changed-timestamp", "zero-digest"],
)
def test_wrong_signature_is_rejected(header, body, secret):
    assert rejection(header, body=body, secret=secret).code == "SIGNATURE_INVALID"


@pytest.mark.parametrize("signed_at", [NOW - 301, NOW + 301, 0])
def test_timestamp_outside_tolerance_is_rejected(signed_at):
    error = rejection(sign(SECRET, BODY, signed_at))

    assert error.code == "SIGNATURE_EXPIRED"
    assert "300 s" in error.message


@pytest.mark.parametrize("signed_at", [NOW - 300, NOW + 300])
def test_timestamp_at_tolerance_edge_is_accepted(signed_at):
    assert verify(sign(SECRET, BODY, signed_at), BODY, SECRET, now=NOW) == signed_at


def test_tolerance_is_a_parameter():
    header = sign(SECRET, BODY, NOW - 60)

    assert rejection(header, tolerance=30).code == "SIGNATURE_EXPIRED"
    assert verify(header, BODY, SECRET, now=NOW, tolerance=90) == NOW - 60


def test_stale_call_with_wrong_signature_reports_invalid():
    header = sign("another-secret", BODY, NOW - 3600)

    assert rejection(header).code == "SIGNATURE_INVALID"


def test_rejection_is_401():
    assert rejection(None).status == 401


def test_tolerance_setting_defaults_to_300(monkeypatch):
    monkeypatch.delenv("WEBHOOK_TOLERANCE_SECONDS", raising=False)

    assert tolerance_seconds() == 300


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_invalid_tolerance_setting_raises(monkeypatch, value):
    monkeypatch.setenv("WEBHOOK_TOLERANCE_SECONDS", value)

    with pytest.raises(RuntimeError, match="WEBHOOK_TOLERANCE_SECONDS"):
        tolerance_seconds()
