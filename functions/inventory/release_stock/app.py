"""Give the stock of an order that will not be paid back to sale."""

from chalice import Chalice

from shared.inventory import table
from shared.messages import Message, ReleaseStock
from shared.queues import consume

app = Chalice(app_name="release-stock")


@app.on_sqs_message(queue="ReleaseStockQueue", batch_size=10)
def release_stock(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, ReleaseStock):
        raise TypeError(f"release-stock cannot handle {message.type} messages")
    table.release(message.order_id)
