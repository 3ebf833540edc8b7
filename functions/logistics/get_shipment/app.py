"""GET /shipments/{shipmentId}: the shipment with its tracking history."""

from shared.errors import NotFound
from shared.http import check_identifier, create_app, endpoint, json_response
from shared.logistics import table

app = create_app("get-shipment")


@app.route("/shipments/{shipmentId}", methods=["GET"])
@endpoint
def get_shipment(shipmentId):
    shipment = table.get_shipment(check_identifier(shipmentId, "shipmentId"))
    if shipment is None:
        raise NotFound("SHIPMENT_NOT_FOUND", f"shipment {shipmentId!r} does not exist")
    return json_response(200, table.public_view(shipment))
