"""The inventory API's request, query and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.inventory.model import MAX_STOCK
from shared.models import QueryModel, RequestModel, ResponseModel
from shared.money import Money
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit

Category = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Product(ResponseModel):
    sku: str
    name: str
    category: str
    price: Money
    stock: int = Field(description="Units that can still be sold.")
    reserved: int = Field(0, description="Units held for orders not yet shipped.")
    sold: int = 0
    updated_at: datetime


class ProductPage(ResponseModel):
    items: list[Product]
    next_cursor: str | None = None


class ProductQuery(QueryModel):
    category: Category
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


class StockAdjustmentRequest(RequestModel):
    """add and remove change the stock by `quantity`; set makes it `quantity`."""

    action: Literal["add", "remove", "set"]
    quantity: Annotated[int, Field(ge=0, le=MAX_STOCK)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StockMovement(ResponseModel):
    movement_id: str
    sku: str = Field(validation_alias="movementSku", serialization_alias="sku")
    at: datetime
    action: Literal["add", "remove", "set"]
    quantity: int
    stock_before: int
    stock_after: int
    reason: str
    actor: str


class StockAdjustment(ResponseModel):
    product: Product
    movement: StockMovement


class MovementPage(ResponseModel):
    items: list[StockMovement]
    next_cursor: str | None = None
