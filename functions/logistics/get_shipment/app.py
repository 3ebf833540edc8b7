"""GET /shipments/{shipmentId}: the shipment with its tracking history, for the customer who ordered it and for admins."""

from shared.api import operation
from shared.auth import CUSTOMER, Caller
from shared.errors import NotFound
from shared.http import create_app
from shared.logistics import table
from shared.logistics.schemas import Shipment

app = create_app("get-shipment")


@operation(
    app,
    "GET",
    "/shipments/{shipmentId}",
    summary="Track the shipment of one of your orders",
    access=CUSTOMER,
    response=Shipment,
    errors={404: ("SHIPMENT_NOT_FOUND",)},
)
def get_shipment(shipmentId: str, caller: Caller):
    shipment = table.get_shipment(shipmentId)
    # Another customer's shipment is reported exactly like a missing one, so ids cannot be probed.
    if shipment is None or not caller.can_see(shipment.get("customerId")):
        raise NotFound("SHIPMENT_NOT_FOUND", f"shipment {shipmentId!r} does not exist")
    return shipment
