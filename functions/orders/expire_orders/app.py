"""Expire orders left unpaid past their payment deadline, releasing their stock (runs on a schedule)."""

import logging
from datetime import datetime, timezone

from chalice import Chalice

from shared import observability
from shared.messages import ReleaseStock
from shared.orders import table
from shared.orders.model import OrderStatus
from shared.outbox import entries

app = Chalice(app_name="expire-orders")
# Named rather than __name__, because the local runtime loads this module under another name.
log = logging.getLogger("functions.orders.expire_orders")


@app.schedule("rate(1 minute)")
def expire_orders(event):
    with observability.invocation(event.context), observability.failures_counted("expiry run failed"):
        now = datetime.now(timezone.utc)
        expired = 0
        # Each page contains at most 100 orders. The loop ends when a page expires none,
        # so orders that another writer moved on meanwhile cannot keep it spinning.
        while True:
            overdue = table.overdue_orders(now)
            moved = sum(_expire(order["orderId"]) for order in overdue)
            expired += moved
            if len(overdue) < 100 or moved == 0:
                break
        log.info("expired unpaid orders", extra={"expired": expired})
    return {"expired": expired}


def _expire(order_id: str) -> bool:
    # The deadline index contains keys only, so the order is read for the correlation id it was placed with.
    order = table.get_order(order_id)
    with observability.correlated(order.get("correlationId") if order else None, order_id=order_id):
        moved = table.move_order(order_id, OrderStatus.EXPIRED, entries(("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=order_id))))
        if moved:
            log.info("order expired")
    return moved
