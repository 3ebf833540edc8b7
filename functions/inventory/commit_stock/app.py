"""Count the reserved units of a shipped order as sold."""

from chalice import Chalice

from shared.inventory import table
from shared.messages import CommitStock, Message
from shared.queues import consume

app = Chalice(app_name="commit-stock")


@app.on_sqs_message(queue="CommitStockQueue", batch_size=10)
def commit_stock(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CommitStock):
        raise TypeError(f"commit-stock cannot handle {message.type} messages")
    table.commit(message.order_id)
