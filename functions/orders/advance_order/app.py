"""Move orders through their states as inventory, payments and logistics report back.

Each event moves the order only from the states allowed before the target
(`PREVIOUS_STATES`), so a duplicate or late event changes nothing. When the
order already is in the target state, the follow-up command is sent again:
the previous delivery may have failed between the write and the send, and
every receiver ignores a command it has already carried out.
"""

from chalice import Chalice

from shared.messages import (
    CapturePayment,
    CommitStock,
    CreateShipment,
    Line,
    Message,
    PaymentCaptured,
    PaymentDeclined,
    ReleaseStock,
    ShipmentCreated,
    ShipmentProgressed,
    StockRejected,
    StockReserved,
)
from shared.money import Money
from shared.orders import table
from shared.orders.model import OrderStatus
from shared.queues import consume, send

app = Chalice(app_name="advance-order")


@app.on_sqs_message(queue="OrderEventsQueue", batch_size=10)
def advance_order(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if isinstance(message, StockReserved):
        if _move(message.order_id, OrderStatus.RESERVED):
            order = table.get_order(message.order_id)
            send(
                "CAPTURE_PAYMENT_QUEUE_URL",
                CapturePayment(order_id=order["orderId"], amount=Money.model_validate(order["total"]), token=order["paymentToken"]),
            )
    elif isinstance(message, StockRejected):
        _move(message.order_id, OrderStatus.REJECTED, {"rejectedSkus": list(message.skus)})
    elif isinstance(message, PaymentCaptured):
        if _move(message.order_id, OrderStatus.PAID, {"paymentId": message.payment_id}):
            order = table.get_order(message.order_id)
            lines = tuple(Line(sku=line["sku"], quantity=line["quantity"]) for line in order["lines"])
            send("CREATE_SHIPMENT_QUEUE_URL", CreateShipment(order_id=message.order_id, lines=lines))
    elif isinstance(message, PaymentDeclined):
        if _move(message.order_id, OrderStatus.PAYMENT_FAILED, {"paymentFailure": message.reason}):
            send("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=message.order_id))
    elif isinstance(message, ShipmentCreated):
        table.set_shipment(message.order_id, message.shipment_id)
    elif isinstance(message, ShipmentProgressed):
        target = OrderStatus.DELIVERED if message.status == "DELIVERED" else OrderStatus.SHIPPED
        if _move(message.order_id, target, {"shipmentId": message.shipment_id}):
            send("COMMIT_STOCK_QUEUE_URL", CommitStock(order_id=message.order_id))
    else:
        raise TypeError(f"advance-order cannot handle {message.type} messages")


def _move(order_id: str, target: OrderStatus, changes: dict | None = None) -> bool:
    """Move the order; returns True when the follow-up command must be sent."""
    if table.move_order(order_id, target, changes):
        return True
    order = table.get_order(order_id)
    if order is None:
        # The event overtook the order's own write: raising retries it later.
        raise LookupError(f"order {order_id} does not exist yet")
    return order["status"] == target.value
