"""POST /orders/{orderId}/cancel: cancel an order that has not shipped, releasing its stock and refunding its payment."""

from shared.errors import Conflict, NotFound
from shared.http import check_identifier, create_app, endpoint, json_response
from shared.idempotency import run_once
from shared.messages import CancelShipment, RefundPayment, ReleaseStock
from shared.orders import table
from shared.orders.model import OrderStatus, public_view
from shared.outbox import entries

app = create_app("cancel-order")

_SHIPPED = {OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value}


@app.route("/orders/{orderId}/cancel", methods=["POST"])
@endpoint
def cancel_order(orderId):
    check_identifier(orderId, "orderId")
    return run_once(app, "ORDERS_IDEMPOTENCY_TABLE", lambda: _cancel(orderId))


def _cancel(order_id: str):
    order = table.get_order(order_id)
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", f"order {order_id!r} does not exist")
    if order["status"] == OrderStatus.CANCELLED.value:
        return json_response(200, public_view(order))
    if order["status"] in _SHIPPED:
        raise Conflict("ORDER_ALREADY_SHIPPED", f"order {order_id!r} is {order['status']} and can no longer be cancelled")

    messages = [("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=order_id))]
    if order["status"] == OrderStatus.PAID.value:
        messages.append(("REFUND_PAYMENT_QUEUE_URL", RefundPayment(order_id=order_id)))
        if order.get("shipmentId"):
            messages.append(("CANCEL_SHIPMENT_QUEUE_URL", CancelShipment(order_id=order_id, shipment_id=order["shipmentId"])))

    # The move is conditional on the states read above being still allowed, so
    # a shipment scanned in the meantime makes it fail instead of cancelling.
    if not table.move_order(order_id, OrderStatus.CANCELLED, entries(*messages)):
        current = table.get_order(order_id)
        if current["status"] == OrderStatus.CANCELLED.value:
            return json_response(200, public_view(current))
        raise Conflict("ORDER_NOT_CANCELLABLE", f"order {order_id!r} is {current['status']} and cannot be cancelled")
    return json_response(200, public_view(table.get_order(order_id)))
