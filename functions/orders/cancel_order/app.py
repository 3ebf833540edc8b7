"""POST /orders/{orderId}/cancel: cancel an order that has not shipped, releasing its stock and refunding its payment."""

from shared.api import operation
from shared.auth import CUSTOMER, Caller
from shared.errors import Conflict
from shared.http import create_app
from shared.messages import CancelShipment, RefundPayment, ReleaseStock
from shared.orders import table
from shared.orders.access import visible_order
from shared.orders.model import OrderStatus
from shared.orders.schemas import Order
from shared.outbox import entries

app = create_app("cancel-order")

_SHIPPED = {OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value}


@operation(
    app,
    "POST",
    "/orders/{orderId}/cancel",
    summary="Cancel one of your orders before it ships",
    access=CUSTOMER,
    response=Order,
    idempotency_table="ORDERS_IDEMPOTENCY_TABLE",
    errors={404: ("ORDER_NOT_FOUND",), 409: ("ORDER_ALREADY_SHIPPED", "ORDER_NOT_CANCELLABLE")},
)
def cancel_order(orderId: str, caller: Caller):
    order = visible_order(orderId, caller)
    if order["status"] == OrderStatus.CANCELLED.value:
        return order
    if order["status"] in _SHIPPED:
        raise Conflict("ORDER_ALREADY_SHIPPED", f"order {orderId!r} is {order['status']} and can no longer be cancelled")

    messages = [("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=orderId))]
    if order["status"] == OrderStatus.PAID.value:
        messages.append(("REFUND_PAYMENT_QUEUE_URL", RefundPayment(order_id=orderId)))
        if order.get("shipmentId"):
            messages.append(("CANCEL_SHIPMENT_QUEUE_URL", CancelShipment(order_id=orderId, shipment_id=order["shipmentId"])))

    # The move is conditional on the states read above being still allowed, so
    # a shipment scanned in the meantime makes it fail instead of cancelling.
    if not table.move_order(orderId, OrderStatus.CANCELLED, entries(*messages)):
        current = table.get_order(orderId)
        if current["status"] == OrderStatus.CANCELLED.value:
            return current
        raise Conflict("ORDER_NOT_CANCELLABLE", f"order {orderId!r} is {current['status']} and cannot be cancelled")
    return table.get_order(orderId)
