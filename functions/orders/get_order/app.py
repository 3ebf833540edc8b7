"""GET /orders/{orderId}: the order with its status, priced lines, total and shipment."""

from shared.errors import NotFound
from shared.http import check_identifier, create_app, endpoint, json_response
from shared.orders import table
from shared.orders.model import public_view

app = create_app("get-order")


@app.route("/orders/{orderId}", methods=["GET"])
@endpoint
def get_order(orderId):
    order = table.get_order(check_identifier(orderId, "orderId"))
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", f"order {orderId!r} does not exist")
    return json_response(200, public_view(order))
