"""POST /orders: accept an order as PENDING and ask inventory to reserve its stock."""

import hashlib
import os
from datetime import timedelta

from shared.errors import Conflict
from shared.http import create_app, endpoint, json_response, read_body
from shared.idempotency import HEADER, run_once
from shared.messages import Line, OrderPlaced
from shared.orders import table
from shared.orders.model import PlaceOrderRequest, new_order, order_id_for, price_lines
from shared.outbox import entries

app = create_app("place-order")


@app.route("/orders", methods=["POST"])
@endpoint
def place_order():
    return run_once(app, "ORDERS_IDEMPOTENCY_TABLE", _place_order)


def _place_order():
    request = read_body(app, PlaceOrderRequest)
    prices = table.get_prices(line.sku for line in request.lines)
    order_id = order_id_for(request.customer_id, app.current_request.headers.get(HEADER))
    order = new_order(request, price_lines(request.lines, prices), _payment_timeout(), order_id)
    order["requestHash"] = hashlib.sha256(request.model_dump_json().encode()).hexdigest()

    placed = OrderPlaced(order_id=order_id, lines=tuple(Line(sku=line.sku, quantity=line.quantity) for line in request.lines))
    if not table.insert_order(order, entries(("RESERVE_STOCK_QUEUE_URL", placed))):
        # A retry of a request that wrote the order and then failed: the
        # idempotency key made the same id, so return what the first request would have returned.
        existing = table.get_order(order_id)
        if existing.get("requestHash") != order["requestHash"]:
            raise Conflict("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was already used with a different request body")
    return json_response(202, {"orderId": order_id, "status": "PENDING"})


def _payment_timeout() -> timedelta:
    return timedelta(seconds=int(os.environ.get("ORDER_PAYMENT_TIMEOUT_SECONDS", "900")))
