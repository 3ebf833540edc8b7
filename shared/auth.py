"""The caller of an HTTP operation, from the claims API Gateway's authorizer passed on.

The authorizer (functions/auth/authorizer) verifies the bearer token and puts
its claims in the request context. Every function still checks them itself.
So a route deployed without the authorizer is rejected here, and so is a token
that expired while the authorizer's decision was cached.

Context values are strings, as API Gateway passes them: `sub`, `roles`
(space-separated) and `exp` (seconds since the epoch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.errors import Forbidden, Unauthorized

CUSTOMER = "customer"
ADMIN = "admin"
ROLES = frozenset({CUSTOMER, ADMIN})


@dataclass(frozen=True)
class Caller:
    subject: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def can_see(self, owner: str | None) -> bool:
        """Return whether this caller may read or change something that belongs to customer `owner`."""
        return self.is_admin or (owner is not None and owner == self.subject)


def caller_from(request_context: dict, now: float | None = None) -> Caller:
    """Read the caller from a proxy event's request context; raises Unauthorized."""
    claims = request_context.get("authorizer") or {}
    subject = claims.get("sub") or claims.get("principalId")
    if not subject:
        raise Unauthorized("UNAUTHORIZED", "this operation needs a bearer token: send Authorization: Bearer <token>")

    try:
        expires = float(claims.get("exp", ""))
    except ValueError:
        raise Unauthorized("UNAUTHORIZED", "the token's claims have no valid expiry") from None
    if expires <= (time.time() if now is None else now):
        raise Unauthorized("TOKEN_EXPIRED", "the bearer token has expired: request a new one")

    roles = frozenset(str(claims.get("roles", "")).split()) & ROLES
    return Caller(subject=str(subject), roles=roles)


def require_role(caller: Caller, role: str) -> Caller:
    """Return `caller` if it has `role` (admins may act as customers too); raises Forbidden."""
    if role in caller.roles or caller.is_admin:
        return caller
    raise Forbidden(f"this operation needs the {role!r} role, and the token grants {sorted(caller.roles) or 'none'}")
