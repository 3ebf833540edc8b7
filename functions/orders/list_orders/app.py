"""GET /orders: the caller's own orders, newest first, a page at a time."""

from shared.api import operation
from shared.auth import CUSTOMER, Caller
from shared.http import create_app
from shared.orders.queries import customer_orders
from shared.orders.schemas import OrderPage
from shared.pagination import PageQuery

app = create_app("list-orders")


@operation(app, "GET", "/orders", summary="List your orders, newest first", access=CUSTOMER, response=OrderPage, query=PageQuery)
def list_orders(caller: Caller, query: PageQuery):
    items, next_cursor = customer_orders(caller.subject, query.limit, query.cursor)
    return {"items": items, "nextCursor": next_cursor}
