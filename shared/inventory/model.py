"""Inventory: products, their stock, and reservations of stock for orders."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from shared.messages import Line
from shared.money import Money

MAX_STOCK = 10**9


class PutProductRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=True)

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


def product_view(product: dict) -> dict:
    return {
        "sku": product["sku"],
        "name": product["name"],
        "category": product["category"],
        "price": product["price"],
        "stock": product["stock"],
        "reserved": product.get("reserved", 0),
        "sold": product.get("sold", 0),
        "updatedAt": product["updatedAt"],
    }
