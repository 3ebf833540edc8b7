"""The orders API's query and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from shared.models import QueryModel, ResponseModel
from shared.money import Money
from shared.orders.model import OrderStatus
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit


class OrderLine(ResponseModel):
    sku: str
    quantity: int
    unit_price: Money
    line_total: Money


class Refund(ResponseModel):
    payment_id: str
    amount: Money


class Order(ResponseModel):
    order_id: str
    customer_id: str
    status: OrderStatus
    lines: list[OrderLine]
    total: Money
    version: int = Field(description="Increases with every change of the order.")
    created_at: datetime
    updated_at: datetime
    payment_deadline: datetime | None = Field(None, description="When an unpaid order expires.")
    payment_id: str | None = None
    payment_failure: str | None = Field(None, description="Why the payment was declined.")
    rejected_skus: list[str] | None = Field(None, description="Products that lacked stock.")
    shipment_id: str | None = None
    refund: Refund | None = None


class OrderAccepted(ResponseModel):
    order_id: str
    status: OrderStatus


class OrderPage(ResponseModel):
    items: list[Order]
    next_cursor: str | None = None


class OrderSearchQuery(QueryModel):
    status: OrderStatus
    created_from: AwareDatetime | None = Field(None, description="Earliest creation time, inclusive (ISO 8601 with a time zone).")
    created_to: AwareDatetime | None = Field(None, description="Latest creation time, inclusive (ISO 8601 with a time zone).")
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None
