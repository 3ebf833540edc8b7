"""GET /orders/{orderId}: the order with its status, priced lines, total and shipment."""

from shared.api import operation
from shared.auth import CUSTOMER, Caller
from shared.http import create_app
from shared.orders.access import visible_order
from shared.orders.schemas import Order

app = create_app("get-order")


@operation(app, "GET", "/orders/{orderId}", summary="Get one of your orders", access=CUSTOMER, response=Order, errors={404: ("ORDER_NOT_FOUND",)})
def get_order(orderId: str, caller: Caller):
    return visible_order(orderId, caller)
