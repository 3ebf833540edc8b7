"""HMAC-SHA256 signatures of the inbound webhook calls: the payment provider's and the carrier's.

The sender puts one header on every call:

    Tradewind-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]

Each `v1` value is the hex HMAC-SHA256, keyed with a shared secret, of the
bytes `f"{t}."` followed by the raw request body. A sender that rotates its
secret sends one `v1` per secret it still uses, so the receiver accepts the
call whether it already reads the new secret or still the old one. Unknown
keys (a future `v2`) are ignored.

A call is accepted when one `v1` matches and `t` is within the tolerance of
the receiver's clock, in either direction. Signing the timestamp limits
replays of a captured call to that window. Replays within it are handled by
the receivers themselves, which treat a repeated event as a duplicate.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.aws import client, setting
from shared.errors import Unauthorized

if TYPE_CHECKING:
    from chalice.app import Request

HEADER = "Tradewind-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
TOLERANCE_SETTING = "WEBHOOK_TOLERANCE_SECONDS"

# Rotation needs two values; the bound keeps a hostile header from costing many HMACs.
MAX_SIGNATURES = 5
MAX_HEADER_LENGTH = 1024
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed signature header: the signed timestamp and the `v1` digests, lower-case hex."""

    timestamp: int
    signatures: tuple[str, ...]


def compute_signature(secret: str, body: bytes, timestamp: int) -> str:
    """Return the hex HMAC-SHA256 of `f"{timestamp}."` plus `body`, keyed with `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | list[str], body: bytes, timestamp: int | None = None) -> str:
    """Return the value of the signature header for `body`, signed now or at `timestamp`.

    Several secrets give several `v1` values, as a sender does while it rotates its secret.
    """
    signed_at = int(time.time()) if timestamp is None else timestamp
    secrets = [secret] if isinstance(secret, str) else secret
    return ",".join([f"t={signed_at}", *(f"{SCHEME}={compute_signature(key, body, signed_at)}" for key in secrets)])


def parse_header(value: str) -> SignatureHeader:
    """Parse a signature header's value; raises Unauthorized with the code SIGNATURE_MALFORMED."""
    if len(value) > MAX_HEADER_LENGTH:
        raise _malformed(f"it has {len(value)} characters, over the limit of {MAX_HEADER_LENGTH}")

    timestamps: list[str] = []
    signatures: list[str] = []
    for part in value.split(","):
        key, separator, item = part.strip().partition("=")
        if not separator:
            raise _malformed(f"{part.strip()!r} is not key=value")
        if key == "t":
            timestamps.append(item)
        elif key == SCHEME:
            signatures.append(item)

    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]):
        raise _malformed("it needs exactly one t=<unix seconds>")
    if not signatures:
        raise _malformed(f"it has no {SCHEME}=<hex> signature")
    if len(signatures) > MAX_SIGNATURES:
        raise _malformed(f"it has {len(signatures)} {SCHEME} signatures, over the limit of {MAX_SIGNATURES}")
    for signature in signatures:
        if not _HEX_DIGEST.match(signature):
            raise _malformed(f"a {SCHEME} signature must be 64 hex digits (HMAC-SHA256)")
    return SignatureHeader(timestamp=int(timestamps[0]), signatures=tuple(signature.lower() for signature in signatures))


def verify(header: str | None, body: bytes, secret: str, now: float | None = None, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Check a signature header against `body` and `secret`; returns the signed timestamp.

    Raises Unauthorized with the code SIGNATURE_MISSING (no header),
    SIGNATURE_MALFORMED, SIGNATURE_INVALID (no `v1` matches) or
    SIGNATURE_EXPIRED (the timestamp is more than `tolerance` seconds from
    `now`, in the past or the future). The timestamp is checked only after a
    signature matched, so only a holder of the secret learns about clock skew.
    """
    if not header:
        raise Unauthorized("SIGNATURE_MISSING", f"this call must be signed: send the {HEADER} header, t=<unix seconds>,{SCHEME}=<hex HMAC-SHA256>")
    parsed = parse_header(header)

    expected = compute_signature(secret, body, parsed.timestamp)
    # compare_digest takes the same time wherever the values differ, so timing shows nothing about the digest.
    matches = [hmac.compare_digest(expected, signature) for signature in parsed.signatures]
    if not any(matches):
        raise Unauthorized("SIGNATURE_INVALID", f"no {SCHEME} signature in {HEADER} matches the body: sign t. plus the exact body bytes with the shared secret")

    skew = int((time.time() if now is None else now) - parsed.timestamp)
    if abs(skew) > tolerance:
        direction = f"{skew} s old" if skew > 0 else f"{-skew} s in the future"
        raise Unauthorized("SIGNATURE_EXPIRED", f"the signature's timestamp is {direction}, outside the tolerance of {tolerance} s: sign again with the current time")
    return parsed.timestamp


def verify_request(request: Request, secret_setting: str) -> int:
    """Verify the signature of a Chalice request with the secret whose ARN is in the setting `secret_setting`.

    Returns the signed timestamp and raises Unauthorized as `verify` does.
    """
    secret = read_secret(setting(secret_setting))
    return verify(request.headers.get(HEADER), request.raw_body or b"", secret, tolerance=tolerance_seconds())


def read_secret(arn: str) -> str:
    """Read a secret's current value through Powertools' parameters utility, cached by the utility.

    The cache keeps a value for POWERTOOLS_PARAMETERS_MAX_AGE seconds (300 by
    default in Powertools 3.37), so a rotated secret takes effect within that
    time. Senders sign with both secrets meanwhile.
    """
    return _secrets_provider(client("secretsmanager")).get(arn)


def tolerance_seconds() -> int:
    """Return the tolerance setting in seconds; raises RuntimeError when it is not a positive integer."""
    value = os.environ.get(TOLERANCE_SETTING) or str(DEFAULT_TOLERANCE_SECONDS)
    if not value.isdigit() or int(value) == 0:
        raise RuntimeError(f"{TOLERANCE_SETTING} must be a positive number of seconds, not {value!r}")
    return int(value)


@functools.cache
def _secrets_provider(secrets_client: Any) -> Any:
    # One provider per client: the local runtime clears shared.aws's clients when
    # its emulator stops, and a provider must not keep a client of a stopped emulator.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=secrets_client)


def _malformed(reason: str) -> Unauthorized:
    return Unauthorized("SIGNATURE_MALFORMED", f"the {HEADER} header is malformed: {reason}; expected t=<unix seconds>,{SCHEME}=<hex>")
