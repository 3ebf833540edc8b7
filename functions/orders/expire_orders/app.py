"""Expire orders left unpaid past their payment deadline, releasing their stock (runs on a schedule)."""

import logging
from datetime import datetime, timezone

from chalice import Chalice

from shared.messages import ReleaseStock
from shared.orders import table
from shared.orders.model import OrderStatus
from shared.outbox import entries

app = Chalice(app_name="expire-orders")
log = logging.getLogger(__name__)


@app.schedule("rate(1 minute)")
def expire_orders(event):
    now = datetime.now(timezone.utc)
    expired = 0
    # Each page contains at most 100 orders; the loop ends when a page expires none,
    # so orders that another writer moved on meanwhile cannot keep it spinning.
    while True:
        overdue = table.overdue_orders(now)
        moved = sum(
            table.move_order(order["orderId"], OrderStatus.EXPIRED, entries(("RELEASE_STOCK_QUEUE_URL", ReleaseStock(order_id=order["orderId"]))))
            for order in overdue
        )
        expired += moved
        if len(overdue) < 100 or moved == 0:
            break
    log.info("expired unpaid orders", extra={"expired": expired})
    return {"expired": expired}
