"""Orders: placing an order and the states it moves through."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.errors import InvalidRequest
from shared.http import IDENTIFIER_PATTERN
from shared.models import RequestModel
from shared.money import CurrencyMismatch, Money

# DynamoDB transactions take at most 100 items and a reservation writes one
# item per distinct SKU plus its own record, so 50 lines leave ample room.
MAX_LINES = 50
MAX_QUANTITY = 1000

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]


class OrderStatus(str, Enum):
    PENDING = "PENDING"
    RESERVED = "RESERVED"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"


# For each state, the states an order may be in just before it. An event that
# finds the order elsewhere is a duplicate or arrived late, and changes nothing.
# SHIPPED may be skipped: a carrier can report delivery without a pick-up scan.
PREVIOUS_STATES: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.RESERVED: frozenset({OrderStatus.PENDING}),
    OrderStatus.REJECTED: frozenset({OrderStatus.PENDING}),
    OrderStatus.PAID: frozenset({OrderStatus.RESERVED}),
    OrderStatus.PAYMENT_FAILED: frozenset({OrderStatus.RESERVED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.PAID}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.PAID, OrderStatus.SHIPPED}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.PAID}),
    OrderStatus.EXPIRED: frozenset({OrderStatus.PENDING, OrderStatus.RESERVED}),
    # A paid order that has not shipped is cancelled instead, which also releases its stock.
    OrderStatus.REFUNDED: frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED}),
}

FINAL_STATES = frozenset(
    {OrderStatus.DELIVERED, OrderStatus.REJECTED, OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REFUNDED}
)
# States in which the order still waits for its payment and can expire.
AWAITING_PAYMENT = frozenset({OrderStatus.PENDING, OrderStatus.RESERVED})
# States after which a late StockReserved or PaymentCaptured must be undone.
ABANDONED_STATES = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})


class LineRequest(RequestModel):
    sku: Identifier
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class PaymentRequest(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PlaceOrderRequest(RequestModel):
    # The customer is the token's subject; a customerId, if sent, must be that subject
    # (an admin may place an order for any customer).
    customer_id: Identifier | None = None
    lines: Annotated[list[LineRequest], Field(min_length=1, max_length=MAX_LINES)]
    payment: PaymentRequest


class PricedLine(RequestModel):
    sku: str
    quantity: int
    unit_price: Money
    line_total: Money


def price_lines(lines: list[LineRequest], prices: dict[str, Money]) -> list[PricedLine]:
    """Price each line from the catalogue; raises InvalidRequest for an unknown SKU or a second currency."""
    priced = []
    currency = None
    for index, line in enumerate(lines):
        price = prices.get(line.sku)
        if price is None:
            raise InvalidRequest(
                "UNKNOWN_SKU",
                f"product {line.sku!r} is not in the catalogue; a product created with PUT /products/{{sku}} can be ordered moments later",
                field=f"lines.{index}.sku",
            )
        if currency is None:
            currency = price.currency
        if price.currency != currency:
            error = CurrencyMismatch(currency, price.currency, field=f"lines.{index}.sku")
            raise InvalidRequest(error.code, error.message, field=error.field)
        priced.append(PricedLine(sku=line.sku, quantity=line.quantity, unit_price=price, line_total=price.times(line.quantity)))
    return priced


def order_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """Return a new order id, or the same id for every retry that carries the same idempotency key."""
    if idempotency_key is None:
        return f"ord_{uuid.uuid4().hex}"
    return f"ord_{uuid.uuid5(uuid.NAMESPACE_URL, f'tradewind:order:{customer_id}:{idempotency_key}').hex}"


def new_order(
    request: PlaceOrderRequest,
    customer_id: str,
    lines: list[PricedLine],
    payment_timeout: timedelta,
    order_id: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Build the stored document of `customer_id`'s new PENDING order that expires unpaid after `payment_timeout`."""
    total = Money.zero(lines[0].unit_price.currency)
    for line in lines:
        total = total + line.line_total
    created = now or datetime.now(timezone.utc)
    timestamp = created.isoformat()
    return {
        "orderId": order_id or order_id_for(customer_id, None),
        "version": 1,
        "awaitingPayment": "1",
        "paymentDeadline": (created + payment_timeout).isoformat(),
        "customerId": customer_id,
        "status": OrderStatus.PENDING.value,
        "lines": [line.model_dump(by_alias=True) for line in lines],
        "total": total.model_dump(),
        # NOTE: the token is kept until payment is requested because the
        # reservation happens first; it is a provider reference, never a card number.
        "paymentToken": request.payment.token,
        "createdAt": timestamp,
        "updatedAt": timestamp,
    }
