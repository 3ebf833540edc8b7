"""POST /orders: accept an order as PENDING and ask inventory to reserve its stock."""

import hashlib
import os
from datetime import timedelta

from shared.api import operation
from shared.auth import CUSTOMER, Caller
from shared.errors import Conflict, Forbidden
from shared.http import create_app
from shared.idempotency import HEADER
from shared.messages import Line, OrderPlaced
from shared.orders import table
from shared.orders.model import PlaceOrderRequest, new_order, order_id_for, price_lines
from shared.orders.schemas import OrderAccepted
from shared.outbox import entries

app = create_app("place-order")


@operation(
    app,
    "POST",
    "/orders",
    summary="Place an order",
    access=CUSTOMER,
    response=OrderAccepted,
    status=202,
    body=PlaceOrderRequest,
    idempotency_table="ORDERS_IDEMPOTENCY_TABLE",
    errors={403: ("CUSTOMER_MISMATCH",), 409: ("IDEMPOTENCY_KEY_REUSED",)},
)
def place_order(caller: Caller, body: PlaceOrderRequest):
    customer_id = _customer(caller, body)
    prices = table.get_prices(line.sku for line in body.lines)
    order_id = order_id_for(customer_id, app.current_request.headers.get(HEADER))
    order = new_order(body, customer_id, price_lines(body.lines, prices), _payment_timeout(), order_id)
    order["requestHash"] = hashlib.sha256(body.model_dump_json().encode()).hexdigest()

    placed = OrderPlaced(order_id=order_id, lines=tuple(Line(sku=line.sku, quantity=line.quantity) for line in body.lines))
    if not table.insert_order(order, entries(("RESERVE_STOCK_QUEUE_URL", placed))):
        # A retry of a request that wrote the order and then failed: the
        # idempotency key made the same id, so return what the first request would have returned.
        existing = table.get_order(order_id)
        if existing.get("requestHash") != order["requestHash"]:
            raise Conflict("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was already used with a different request body")
    return {"orderId": order_id, "status": "PENDING"}


def _customer(caller: Caller, body: PlaceOrderRequest) -> str:
    """Return the customer the order is for: the caller, or anyone when an admin places it."""
    if body.customer_id is None:
        return caller.subject
    if body.customer_id != caller.subject and not caller.is_admin:
        raise Forbidden("customerId must be the token's subject: leave it out to order as yourself", field="customerId", code="CUSTOMER_MISMATCH")
    return body.customer_id


def _payment_timeout() -> timedelta:
    return timedelta(seconds=int(os.environ.get("ORDER_PAYMENT_TIMEOUT_SECONDS", "900")))
