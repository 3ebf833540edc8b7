"""Move orders through their states as inventory, payments and logistics report back.

Each event moves the order only from the states allowed before its target
(`PREVIOUS_STATES`), so a duplicate or late event changes nothing. The
commands that follow a move are written to the order's outbox in the same
write. An order cancelled or expired while a step was in flight gets that
step undone: a late reservation is released, a late capture refunded, a
late shipment cancelled.
"""

from chalice import Chalice

from shared.messages import (
    CancelShipment,
    CapturePayment,
    CommitStock,
    CreateShipment,
    Line,
    Message,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    RefundPayment,
    ReleaseStock,
    ShipmentCreated,
    ShipmentProgressed,
    StockRejected,
    StockReserved,
)
from shared.money import Money
from shared.orders import table
from shared.orders.model import ABANDONED_STATES, OrderStatus
from shared.outbox import entries
from shared.queues import consume

app = Chalice(app_name="advance-order")


@app.on_sqs_message(queue="OrderEventsQueue", batch_size=10)
def advance_order(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    order = _load(message.order_id)
    order_id = order["orderId"]

    if isinstance(message, StockReserved):
        capture = CapturePayment(order_id=order_id, amount=Money.model_validate(order["total"]), token=order["paymentToken"])
        if not table.move_order(order_id, OrderStatus.RESERVED, entries(("CAPTURE_PAYMENT_QUEUE_URL", capture))):
            table.publish_for(order_id, ABANDONED_STATES, entries(("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=order_id))))

    elif isinstance(message, StockRejected):
        table.move_order(order_id, OrderStatus.REJECTED, changes={"rejectedSkus": list(message.skus)})

    elif isinstance(message, PaymentCaptured):
        lines = tuple(Line(sku=line["sku"], quantity=line["quantity"]) for line in order["lines"])
        shipment = CreateShipment(order_id=order_id, lines=lines, customer_id=order["customerId"])
        moved = table.move_order(order_id, OrderStatus.PAID, entries(("CREATE_SHIPMENT_QUEUE_URL", shipment)), {"paymentId": message.payment_id})
        if not moved:
            table.publish_for(order_id, ABANDONED_STATES, entries(("REFUND_PAYMENT_QUEUE_URL", RefundPayment(order_id=order_id))))

    elif isinstance(message, PaymentDeclined):
        release = entries(("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=order_id)))
        table.move_order(order_id, OrderStatus.PAYMENT_FAILED, release, {"paymentFailure": message.reason})

    elif isinstance(message, PaymentRefunded):
        table.set_fields(order_id, {"refund": {"paymentId": message.payment_id, "amount": message.amount.model_dump()}})

    elif isinstance(message, ShipmentCreated):
        table.set_fields(order_id, {"shipmentId": message.shipment_id})
        cancel = entries(("CANCEL_SHIPMENT_QUEUE_URL", CancelShipment(order_id=order_id, shipment_id=message.shipment_id)))
        table.publish_for(order_id, {OrderStatus.CANCELLED}, cancel)

    elif isinstance(message, ShipmentProgressed):
        target = OrderStatus.DELIVERED if message.status == "DELIVERED" else OrderStatus.SHIPPED
        commit = entries(("COMMIT_STOCK_QUEUE_URL", CommitStock(order_id=order_id)))
        table.move_order(order_id, target, commit, {"shipmentId": message.shipment_id})

    else:
        raise TypeError(f"advance-order cannot handle {message.type} messages")


def _load(order_id: str) -> dict:
    order = table.get_order(order_id)
    if order is None:
        # The event overtook the order's own write: raising retries it later.
        raise LookupError(f"order {order_id} does not exist yet")
    return order
