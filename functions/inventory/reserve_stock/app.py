"""Reserve stock for every line of a placed order, or for none of them."""

from chalice import Chalice

from shared.inventory import table
from shared.inventory.model import units_by_sku
from shared.messages import Message, OrderPlaced, StockRejected, StockReserved
from shared.queues import consume, send

app = Chalice(app_name="reserve-stock")


@app.on_sqs_message(queue="ReserveStockQueue", batch_size=10)
def reserve_stock(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, OrderPlaced):
        raise TypeError(f"reserve-stock cannot handle {message.type} messages")

    status, short_skus = table.reserve(message.order_id, units_by_sku(message.lines))

    if status == table.REJECTED:
        send("ORDER_EVENTS_QUEUE_URL", StockRejected(order_id=message.order_id, skus=tuple(short_skus)))
    else:
        # A RELEASED reservation was reserved once: the order has moved on, and
        # repeating StockReserved changes nothing there.
        send("ORDER_EVENTS_QUEUE_URL", StockReserved(order_id=message.order_id))
