"""Order visibility: a customer may read their own orders, an admin every order."""

from __future__ import annotations

from shared.auth import Caller
from shared.errors import NotFound
from shared.orders import table


def visible_order(order_id: str, caller: Caller) -> dict:
    """Return the order if `caller` may see it; raises NotFound otherwise.

    Another customer's order is reported exactly like a missing one, so ids
    cannot be probed.
    """
    order = table.get_order(order_id)
    if order is None or not caller.can_see(order.get("customerId")):
        raise NotFound("ORDER_NOT_FOUND", f"order {order_id!r} does not exist")
    return order
