"""Opaque cursors for paginated listings.

A cursor is DynamoDB's LastEvaluatedKey, string attributes only, as
base64url JSON. Clients cannot be trusted with it. Decoding checks that it
names exactly the key attributes of the index being read, and that the
attributes the query fixes (such as the customer id) match. So a customer
cannot page into another customer's orders by editing a cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from pydantic import Field

from shared.errors import InvalidRequest
from shared.models import QueryModel

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^[A-Za-z0-9_-]+={0,2}$", description="`nextCursor` of the previous page.")]


class PageQuery(QueryModel):
    """The query string of a listing that takes nothing but a page size and a cursor."""

    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


def encode_cursor(last_key: dict | None) -> str | None:
    """Turn a LastEvaluatedKey into a cursor; None when there is no next page."""
    if not last_key:
        return None
    plain = {name: value["S"] for name, value in sorted(last_key.items())}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, attributes: set[str], fixed: dict[str, str] | None = None) -> dict | None:
    """Turn a cursor back into an ExclusiveStartKey; raises InvalidRequest (INVALID_CURSOR)."""
    if cursor is None:
        return None
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError) as error:
        raise _invalid() from error
    if not isinstance(plain, dict) or set(plain) != attributes or not all(isinstance(value, str) for value in plain.values()):
        raise _invalid()
    for name, value in (fixed or {}).items():
        if plain[name] != value:
            raise _invalid()
    return {name: {"S": value} for name, value in plain.items()}


def _invalid() -> InvalidRequest:
    return InvalidRequest("INVALID_CURSOR", "cursor is invalid: pass the nextCursor of the previous page unchanged", field="cursor")
