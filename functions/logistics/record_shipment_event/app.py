"""POST /shipments/{shipmentId}/events: record a carrier event and tell the orders domain."""

from shared.errors import Conflict, NotFound
from shared.http import check_identifier, create_app, endpoint, json_response, read_body
from shared.idempotency import run_once
from shared.logistics import table
from shared.logistics.model import ShipmentEventRequest, check_transition
from shared.messages import ShipmentProgressed
from shared.outbox import entries

app = create_app("record-shipment-event")


@app.route("/shipments/{shipmentId}/events", methods=["POST"])
@endpoint
def record_shipment_event(shipmentId):
    check_identifier(shipmentId, "shipmentId")
    return run_once(app, "LOGISTICS_IDEMPOTENCY_TABLE", lambda: _record(shipmentId))


def _record(shipment_id: str):
    request = read_body(app, ShipmentEventRequest)
    shipment = table.get_shipment(shipment_id)
    if shipment is None:
        raise NotFound("SHIPMENT_NOT_FOUND", f"shipment {shipment_id!r} does not exist")

    if not check_transition(shipment["status"], request.type):
        # The same event again: return the shipment as the first request did and send nothing new.
        return json_response(200, table.public_view(shipment))
    progressed = ShipmentProgressed(order_id=shipment["orderId"], shipment_id=shipment_id, status=request.type, at=request.at)
    updated = table.advance_shipment(shipment_id, shipment["status"], request.type, request.at.isoformat(), entries(("ORDER_EVENTS_QUEUE_URL", progressed)))
    if updated is None:
        raise Conflict("SHIPMENT_CHANGED", f"shipment {shipment_id!r} changed while recording {request.type}: retry the request")
    return json_response(200, table.public_view(updated))
