"""Reserve stock for every line of a placed order, or for none of them."""

from chalice import Chalice

from shared.inventory import table
from shared.inventory.model import units_by_sku
from shared.messages import Message, OrderPlaced, StockRejected, StockReserved
from shared.outbox import entries
from shared.queues import consume

app = Chalice(app_name="reserve-stock")


@app.on_sqs_message(queue="ReserveStockQueue", batch_size=10)
def reserve_stock(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, OrderPlaced):
        raise TypeError(f"reserve-stock cannot handle {message.type} messages")

    order_id = message.order_id
    table.reserve(
        order_id,
        units_by_sku(message.lines),
        reserved_outbox=entries(("ORDER_EVENTS_QUEUE_URL", StockReserved(order_id=order_id))),
        rejected_outbox=lambda short: entries(("ORDER_EVENTS_QUEUE_URL", StockRejected(order_id=order_id, skus=tuple(short)))),
    )
