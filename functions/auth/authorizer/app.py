"""API Gateway TOKEN authorizer: verify the caller's bearer JWT and allow the whole API for it.

The token must be signed with RS256 or ES256 by a key in the JWKS at
`JWKS_URL`, and carry `exp`, `sub`, `iss` (`TOKEN_ISSUER`) and `aud`
(`TOKEN_AUDIENCE`). An optional `roles` claim is a list of strings. Roles other
than customer and admin are dropped before the context reaches a function.

A rejected token fails the invocation with the message "Unauthorized", the only
failure for which API Gateway returns 401. Any other failure, such as an
unreachable JWKS endpoint, becomes a 500. A valid token gets an Allow policy for
every method and path of the API, because API Gateway caches the decision per
token (ReauthorizeEvery) and reuses it on other routes. Which role a route needs
is checked by the function behind it (shared/auth.py).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

import jwt
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)

from shared import observability

log = logging.getLogger(__name__)

# Asymmetric algorithms only: a token with `alg: none`, or HS256 signed with
# the public key as its secret, is rejected before any key is used.
ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ("exp", "sub", "iss", "aud")
KNOWN_ROLES = frozenset({"customer", "admin"})
# PyJWKClient keeps the fetched key set this long. A key ID that is not in the
# set makes it fetch the set again, at most once per 30 s (the cooldown_duration
# default of PyJWT 2.15).
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5


class Unauthorized(Exception):
    """A missing or invalid token. API Gateway returns 401 only for a failure with this exact message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class KeySetUnavailable(Exception):
    """The JWKS could not be fetched or contains no usable key, so no token can be verified."""


@dataclass(frozen=True)
class Claims:
    subject: str
    roles: tuple[str, ...]
    expires: int  # seconds since the epoch

    def context(self) -> dict[str, str]:
        """Build the authorizer context as shared/auth.py reads it: strings, with the roles space-separated."""
        return {"sub": self.subject, "roles": " ".join(self.roles), "exp": str(self.expires)}


class TokenVerifier:
    """Verify JWTs against one issuer's JWKS, fetched on first use and cached."""

    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = jwt.PyJWKClient(jwks_url, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS)

    def verify(self, token: str) -> Claims:
        """Verify `token` and return its claims.

        Raises jwt.PyJWTError for an invalid token, and KeySetUnavailable when the JWKS cannot be read.
        """
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as error:
            raise KeySetUnavailable(f"failed to read the JWKS at {self._keys.uri}: {error}") from error
        payload = jwt.decode(
            token,
            key,
            algorithms=list(ALGORITHMS),
            issuer=self.issuer,
            audience=self.audience,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        return Claims(subject=payload["sub"], roles=_known_roles(payload.get("roles", [])), expires=int(payload["exp"]))


def _known_roles(roles: object) -> tuple[str, ...]:
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise jwt.InvalidTokenError(f"the roles claim must be a list of strings, not {type(roles).__name__}")
    return tuple(sorted(KNOWN_ROLES.intersection(roles)))


def bearer_token(header: str) -> str:
    """Return the token of an `Authorization: Bearer <token>` value. Raises Unauthorized for any other value."""
    scheme, _, token = header.strip().partition(" ")
    # RFC 6750 takes the scheme name case-insensitively.
    if scheme.lower() != "bearer" or not token.strip():
        _log_rejection("the Authorization header is not 'Bearer <token>'")
        raise Unauthorized()
    return token.strip()


def _log_rejection(reason: str) -> None:
    # A warning, so the reason shows even where the root logger keeps Python's default level (WARNING).
    # The token itself is never logged.
    log.warning("bearer token rejected: %s", reason, extra={"reason": reason})


@functools.cache
def verifier() -> TokenVerifier:
    """Build the verifier from this function's settings on first use, so warm invocations share its key cache."""
    missing = [name for name in ("JWKS_URL", "TOKEN_ISSUER", "TOKEN_AUDIENCE") if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"missing environment variables {', '.join(missing)}: set the template parameters JwksUrl, TokenIssuer and TokenAudience")
    return TokenVerifier(os.environ["JWKS_URL"], os.environ["TOKEN_ISSUER"], os.environ["TOKEN_AUDIENCE"])


def authorize(event: dict, context: object) -> dict:
    """Handle a TOKEN authorizer event: an Allow policy for the whole API, or raise Unauthorized."""
    with observability.invocation(context):
        return _authorize(event)


def _authorize(event: dict) -> dict:
    request = APIGatewayAuthorizerTokenEvent(event)
    token = bearer_token(request.authorization_token or "")
    try:
        claims = verifier().verify(token)
    except KeySetUnavailable as error:
        # A rejected token is the caller's fault, but an unreachable key set is ours: count it as a handler error.
        observability.record_failure(error, "failed to verify a bearer token: the JWKS is unavailable")
        raise
    except jwt.PyJWTError as error:
        _log_rejection(f"{type(error).__name__}: {error}")
        raise Unauthorized() from None

    policy = APIGatewayAuthorizerResponse.from_route_arn(request.method_arn, principal_id=claims.subject, context=claims.context())
    policy.allow_all_routes()
    return policy.asdict()
