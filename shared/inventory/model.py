"""Inventory: products, their stock, and reservations of stock for orders."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.messages import Line
from shared.models import RequestModel
from shared.money import Money

MAX_STOCK = 10**9


class PutProductRequest(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    price: Money
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)]


def units_by_sku(lines: tuple[Line, ...]) -> dict[str, int]:
    """Sum the quantities of lines that name the same SKU, so each SKU is checked once."""
    units: Counter[str] = Counter()
    for line in lines:
        units[line.sku] += line.quantity
    return dict(sorted(units.items()))
