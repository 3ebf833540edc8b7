"""GET /admin/orders?status=: every customer's orders in one state, optionally within creation dates, newest first."""

from shared.api import operation
from shared.auth import ADMIN
from shared.errors import InvalidRequest
from shared.http import create_app
from shared.orders.queries import orders_by_status
from shared.orders.schemas import OrderPage, OrderSearchQuery

app = create_app("search-orders")


@operation(app, "GET", "/admin/orders", summary="Search orders by status and creation date", access=ADMIN, response=OrderPage, query=OrderSearchQuery)
def search_orders(query: OrderSearchQuery):
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise InvalidRequest("INVALID_DATE_RANGE", "createdFrom is after createdTo: swap them", field="createdFrom")
    items, next_cursor = orders_by_status(query.status.value, query.created_from, query.created_to, query.limit, query.cursor)
    return {"items": items, "nextCursor": next_cursor}
