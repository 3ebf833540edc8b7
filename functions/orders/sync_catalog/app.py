"""Keep the orders domain's priced copy of the catalogue up to date with inventory."""

from chalice import Chalice

from shared.messages import Message, ProductPriced
from shared.orders import table
from shared.queues import consume

app = Chalice(app_name="sync-catalog")


@app.on_sqs_message(queue="OrderCatalogQueue", batch_size=10)
def sync_catalog(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, ProductPriced):
        raise TypeError(f"sync-catalog cannot handle {message.type} messages")
    table.save_catalog_entry(message)
