"""The local runtime's identity provider: a signing key made at start, its JWKS, and development tokens.

The key pair exists only in the runtime's memory, so tokens minted by one
`make run` are rejected by the next. The authorizer function verifies them as
it verifies an identity provider's tokens in AWS: it fetches the public key
from the gateway's `/.well-known/jwks.json`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

JWKS_PATH = "/.well-known/jwks.json"
TOKENS_PATH = "/_runtime/tokens"
ISSUER = "tradewind-local-runtime"
AUDIENCE = "tradewind-api"
ALGORITHM = "ES256"
ROLES = ("customer", "admin")
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 86400


class TokenRequestError(ValueError):
    """A token request with a missing or invalid field, named in the message."""


@dataclass(frozen=True)
class TokenRequest:
    subject: str
    roles: tuple[str, ...]
    ttl_seconds: int

    @classmethod
    def from_json(cls, body: bytes) -> TokenRequest:
        """Parse `{"subject", "roles"?, "ttlSeconds"?}`. Raises TokenRequestError."""
        try:
            document = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TokenRequestError(f"the body is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise TokenRequestError("the body must be a JSON object such as {\"subject\": \"c1\", \"roles\": [\"customer\"]}")
        unknown = set(document) - {"subject", "roles", "ttlSeconds"}
        if unknown:
            raise TokenRequestError(f"unknown fields {sorted(unknown)}; a token request has subject, roles and ttlSeconds")

        subject = document.get("subject")
        if not isinstance(subject, str) or not 1 <= len(subject) <= 128:
            raise TokenRequestError(f"subject must be a string of 1 to 128 characters, not {subject!r}")
        roles = document.get("roles", ["customer"])
        if not isinstance(roles, list) or not set(roles) <= set(ROLES):
            raise TokenRequestError(f"roles must be a list of {' and '.join(ROLES)}, not {roles!r}")
        ttl = document.get("ttlSeconds", DEFAULT_TTL_SECONDS)
        # A negative TTL mints a token that has already expired, for trying how the API treats one.
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl == 0 or abs(ttl) > MAX_TTL_SECONDS:
            raise TokenRequestError(f"ttlSeconds must be a non-zero integer from -{MAX_TTL_SECONDS} to {MAX_TTL_SECONDS}, not {ttl!r}")
        return cls(subject=subject, roles=tuple(dict.fromkeys(roles)), ttl_seconds=ttl)


class LocalIdentityProvider:
    """An EC P-256 key pair, the JWKS of its public key, and ES256 tokens signed with it."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.key_id = uuid.uuid4().hex
        self._private_key = ec.generate_private_key(ec.SECP256R1())

    def jwks(self) -> dict[str, Any]:
        """Return the JSON Web Key Set of the public key, as an identity provider publishes it."""
        key = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._private_key.public_key()))
        return {"keys": [{**key, "kid": self.key_id, "alg": ALGORITHM, "use": "sig"}]}

    def mint(self, request: TokenRequest, now: float | None = None) -> dict[str, Any]:
        """Sign a token for `request`. Returns `{"token", "expiresAt"}`, the expiry in seconds since the epoch."""
        issued = int(time.time() if now is None else now)
        expires = issued + request.ttl_seconds
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": request.subject,
            "roles": list(request.roles),
            "iat": min(issued, expires),
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.key_id})
        return {"token": token, "expiresAt": expires}

    def handle_token_request(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Handle `POST /_runtime/tokens`: 200 with the token, or 400 naming the invalid field."""
        try:
            request = TokenRequest.from_json(body)
        except TokenRequestError as error:
            return 400, {"error": {"code": "INVALID_TOKEN_REQUEST", "message": str(error)}}
        return 200, self.mint(request)

    def template_parameters(self, jwks_url: str) -> dict[str, str]:
        """Return the template parameters that make the authorizer function trust this provider's tokens."""
        return {"JwksUrl": jwks_url, "TokenIssuer": self.issuer, "TokenAudience": self.audience}
