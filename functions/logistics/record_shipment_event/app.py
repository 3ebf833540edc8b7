"""POST /shipments/{shipmentId}/events: record a carrier event and tell the orders domain."""

from shared.errors import Conflict, NotFound
from shared.http import check_identifier, create_app, endpoint, json_response, read_body
from shared.logistics import table
from shared.logistics.model import ShipmentEventRequest, check_transition
from shared.messages import ShipmentProgressed
from shared.queues import send

app = create_app("record-shipment-event")


@app.route("/shipments/{shipmentId}/events", methods=["POST"])
@endpoint
def record_shipment_event(shipmentId):
    check_identifier(shipmentId, "shipmentId")
    request = read_body(app, ShipmentEventRequest)
    shipment = table.get_shipment(shipmentId)
    if shipment is None:
        raise NotFound("SHIPMENT_NOT_FOUND", f"shipment {shipmentId!r} does not exist")

    if not check_transition(shipment["status"], request.type):
        # The same event again: answer as the first time and send nothing new.
        return json_response(200, shipment)
    updated = table.advance_shipment(shipmentId, shipment["status"], request.type, request.at.isoformat())
    if updated is None:
        raise Conflict("SHIPMENT_CHANGED", f"shipment {shipmentId!r} changed while recording {request.type}: retry the request")

    send(
        "ORDER_EVENTS_QUEUE_URL",
        ShipmentProgressed(order_id=updated["orderId"], shipment_id=shipmentId, status=request.type, at=request.at),
    )
    return json_response(200, updated)
