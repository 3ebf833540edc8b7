"""POST /orders/{orderId}/refund: refund a shipped or delivered order in full (a return)."""

from shared.api import operation
from shared.auth import ADMIN
from shared.errors import Conflict, NotFound
from shared.http import create_app
from shared.messages import RefundPayment
from shared.orders import table
from shared.orders.model import PREVIOUS_STATES, OrderStatus
from shared.orders.schemas import Order
from shared.outbox import entries

app = create_app("refund-order")


@operation(
    app,
    "POST",
    "/orders/{orderId}/refund",
    summary="Refund a shipped or delivered order in full",
    access=ADMIN,
    response=Order,
    idempotency_table="ORDERS_IDEMPOTENCY_TABLE",
    errors={404: ("ORDER_NOT_FOUND",), 409: ("ORDER_NOT_REFUNDABLE",)},
)
def refund_order(orderId: str):
    order = table.get_order(orderId)
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", f"order {orderId!r} does not exist")
    if order["status"] == OrderStatus.REFUNDED.value:
        return order

    refund = entries(("REFUND_PAYMENT_QUEUE_URL", RefundPayment(order_id=orderId)))
    if not table.move_order(orderId, OrderStatus.REFUNDED, refund):
        current = table.get_order(orderId)
        if current["status"] == OrderStatus.REFUNDED.value:
            return current
        allowed = " or ".join(sorted(state.value for state in PREVIOUS_STATES[OrderStatus.REFUNDED]))
        raise Conflict("ORDER_NOT_REFUNDABLE", f"order {orderId!r} is {current['status']}: only a {allowed} order is refunded, and an unshipped one is cancelled")
    return table.get_order(orderId)
