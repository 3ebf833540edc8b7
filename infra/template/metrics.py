"""The custom metrics that the functions emit, as the alarms and the dashboard name them.

The functions emit these through Powertools Metrics in CloudWatch's embedded
metric format. CloudWatch identifies a metric by its name and all of its
dimensions, so a graph or alarm that names a dimension value the code does not
emit shows no data instead of failing.
"""

from __future__ import annotations

NAMESPACE = "Tradewind"

# Count metrics of the checkout saga, each with the `service` dimension of the
# domain whose code emits it: the orders domain counts an order's moves to a new
# state, the inventory domain its reservations, the payments domain its declines.
BUSINESS_METRICS = {
    "OrdersPlaced": "orders",
    "StockReserved": "inventory",
    "StockRejected": "inventory",
    "OrdersPaid": "orders",
    "PaymentsDeclined": "payments",
    "OrdersShipped": "orders",
    "OrdersDelivered": "orders",
    "OrdersExpired": "orders",
    "OrdersCancelled": "orders",
    "OrdersRefunded": "orders",
    "ReservationConflicts": "inventory",
}

# Count of errors a handler caught; dimensions `service` and `function` (the function's logical id).
HANDLER_ERRORS = "HandlerErrors"
# Milliseconds from a message's send to its processing; dimensions `service` and `queue` (the queue's logical id).
QUEUE_MESSAGE_AGE = "QueueMessageAge"

CUSTOM_METRICS = frozenset({*BUSINESS_METRICS, HANDLER_ERRORS, QUEUE_MESSAGE_AGE})
