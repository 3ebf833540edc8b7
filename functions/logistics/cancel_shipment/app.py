"""Cancel the shipment of a cancelled order, unless the carrier already has it."""

import logging
from datetime import datetime, timezone

from chalice import Chalice

from shared.logistics import table
from shared.logistics.model import ShipmentStatus
from shared.messages import CancelShipment, Message
from shared.queues import consume

app = Chalice(app_name="cancel-shipment")
# Named rather than __name__, because the local runtime loads this module under another name.
log = logging.getLogger("functions.logistics.cancel_shipment")


@app.on_sqs_message(queue="CancelShipmentQueue", batch_size=10)
def cancel_shipment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CancelShipment):
        raise TypeError(f"cancel-shipment cannot handle {message.type} messages")

    now = datetime.now(timezone.utc).isoformat()
    if table.advance_shipment(message.shipment_id, ShipmentStatus.CREATED.value, ShipmentStatus.CANCELLED.value, now) is not None:
        return
    shipment = table.get_shipment(message.shipment_id)
    if shipment is not None and shipment["status"] == ShipmentStatus.CANCELLED.value:
        return
    # NOTE: a parcel the carrier picked up before the cancellation arrived
    # stays with the carrier; the order is refunded all the same.
    log.warning("shipment not cancelled", extra={"shipment_id": message.shipment_id, "status": shipment and shipment["status"]})
