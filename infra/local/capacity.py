"""DynamoDB item sizes and on-demand request units, computed by the rules AWS publishes.

The rules come from two pages of the Amazon DynamoDB Developer Guide:
"DynamoDB item sizes and formats" (CapacityUnitCalculations.html) and
"DynamoDB read and write operations" (read-write-operations.html). Items are
in DynamoDB's JSON form, `{"name": {"S": "text"}, "count": {"N": "3"}}`.
The results are estimates: AWS itself calls the size of a number approximate.
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal, InvalidOperation

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
# List and Map values carry 3 bytes of their own and 1 byte per element.
CONTAINER_OVERHEAD_BYTES = 3
ELEMENT_OVERHEAD_BYTES = 1
# Transactional reads and writes cost twice the units of standard ones.
TRANSACTION_FACTOR = 2


def item_size(item: dict[str, dict] | None) -> int:
    """Return an item's size in bytes: each attribute's UTF-8 name plus its value; 0 for no item."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def value_size(value: dict) -> int:
    """Return the size in bytes of one attribute value such as `{"S": "text"}`; raises ValueError for an unknown type."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return number_size(content)
    if kind == "B":
        # The value travels as base64, but its raw length is what counts.
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(text.encode("utf-8")) for text in content)
    if kind == "NS":
        return sum(number_size(text) for text in content)
    if kind == "BS":
        return sum(len(base64.b64decode(text)) for text in content)
    if kind == "L":
        return CONTAINER_OVERHEAD_BYTES + sum(value_size(element) + ELEMENT_OVERHEAD_BYTES for element in content)
    if kind == "M":
        return CONTAINER_OVERHEAD_BYTES + sum(len(name.encode("utf-8")) + value_size(element) + ELEMENT_OVERHEAD_BYTES for name, element in content.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}: expected S, N, B, BOOL, NULL, SS, NS, BS, L or M")


def number_size(text: str) -> int:
    """Return about 1 byte per two significant digits plus 1 byte; leading and trailing zeros do not count."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        raise ValueError(f"invalid DynamoDB number {text!r}") from None
    return math.ceil(len(digits) / 2) + 1


def write_units(size_bytes: int) -> int:
    """Return the write request units of a standard write of an item of `size_bytes`: 1 per started KB, at least 1."""
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def read_units(size_bytes: int, consistent: bool) -> float:
    """Return the read request units of reading `size_bytes`: 1 per started 4 KB, at least 1, and half that when eventually consistent."""
    units = max(1, math.ceil(size_bytes / READ_UNIT_BYTES))
    return units if consistent else units / 2


def index_write_units(index_keys: list[str], projected: list[str] | None, before: dict | None, after: dict | None) -> int:
    """Return the write units a global secondary index spends on a write that turns item `before` into `after`.

    `index_keys` are the index's key attributes; `projected` the attributes it
    copies (table keys, index keys and any non-key attributes), or None when it
    projects ALL. An item without every index key is not in the index. A change
    of index key is a delete plus a put, and a write that changes nothing the
    index contains costs it nothing.
    """
    old = _index_entry(index_keys, projected, before)
    new = _index_entry(index_keys, projected, after)
    if old == new:
        return 0
    if old is not None and new is not None and any(old[key] != new[key] for key in index_keys):
        return write_units(item_size(old)) + write_units(item_size(new))
    return write_units(item_size(new if new is not None else old))


def _index_entry(index_keys: list[str], projected: list[str] | None, item: dict | None) -> dict | None:
    if not item or not all(key in item for key in index_keys):
        return None
    if projected is None:
        return item
    return {name: value for name, value in item.items() if name in projected}
