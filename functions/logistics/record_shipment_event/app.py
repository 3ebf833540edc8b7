"""POST /shipments/{shipmentId}/events: record a carrier event, signed by the carrier, and report it to the orders domain."""

from shared.api import SIGNED, operation
from shared.errors import Conflict, NotFound
from shared.http import create_app
from shared.logistics import table
from shared.logistics.model import ShipmentEventRequest, check_transition
from shared.logistics.schemas import Shipment
from shared.messages import ShipmentProgressed
from shared.outbox import entries

app = create_app("record-shipment-event")


@operation(
    app,
    "POST",
    "/shipments/{shipmentId}/events",
    summary="Record the carrier's signed scan of a shipment",
    access=SIGNED,
    signed_with="CARRIER_WEBHOOK_SECRET_ARN",
    response=Shipment,
    body=ShipmentEventRequest,
    idempotency_table="LOGISTICS_IDEMPOTENCY_TABLE",
    errors={404: ("SHIPMENT_NOT_FOUND",), 409: ("INVALID_SHIPMENT_TRANSITION", "SHIPMENT_CHANGED", "SHIPMENT_CANCELLED")},
)
def record_shipment_event(shipmentId: str, body: ShipmentEventRequest):
    shipment = table.get_shipment(shipmentId)
    if shipment is None:
        raise NotFound("SHIPMENT_NOT_FOUND", f"shipment {shipmentId!r} does not exist")

    if not check_transition(shipment["status"], body.type):
        # The same event again: return the shipment as the first request did and send nothing new.
        return shipment
    progressed = ShipmentProgressed(order_id=shipment["orderId"], shipment_id=shipmentId, status=body.type, at=body.at)
    updated = table.advance_shipment(shipmentId, shipment["status"], body.type, body.at.isoformat(), entries(("ORDER_EVENTS_QUEUE_URL", progressed)))
    if updated is None:
        raise Conflict("SHIPMENT_CHANGED", f"shipment {shipmentId!r} changed while recording {body.type}: retry the request")
    return updated
