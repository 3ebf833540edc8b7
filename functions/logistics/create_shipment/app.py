"""Create the shipment of a paid order."""

from chalice import Chalice

from shared.logistics import table
from shared.logistics.model import shipment_id_for
from shared.messages import CreateShipment, Message, ShipmentCreated
from shared.outbox import entries
from shared.queues import consume

app = Chalice(app_name="create-shipment")


@app.on_sqs_message(queue="CreateShipmentQueue", batch_size=10)
def create_shipment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CreateShipment):
        raise TypeError(f"create-shipment cannot handle {message.type} messages")

    shipment_id = shipment_id_for(message.order_id)
    lines = [{"sku": line.sku, "quantity": line.quantity} for line in message.lines]
    created = ShipmentCreated(order_id=message.order_id, shipment_id=shipment_id)
    table.create_shipment(shipment_id, message.order_id, lines, entries(("ORDER_EVENTS_QUEUE_URL", created)), customer_id=message.customer_id)
