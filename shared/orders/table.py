"""The orders domain's tables: orders, and its priced copy of the catalogue.

Every state change is one conditional write that also sets the order's
outbox (see shared.outbox), so the change and its messages cannot part.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from shared import observability
from shared.aws import client, from_item, get_document, is_error, setting, to_item, to_value, write_if
from shared.messages import ProductPriced
from shared.money import Money
from shared.orders.model import AWAITING_PAYMENT, PREVIOUS_STATES, OrderStatus
from shared.outbox import OUTBOX

# The business metric counted when an order reaches a state, keyed by the state's value. A declined
# payment is counted where the payments domain records it (PaymentsDeclined).
STATE_METRICS = {
    "PAID": "OrdersPaid",
    "SHIPPED": "OrdersShipped",
    "DELIVERED": "OrdersDelivered",
    "EXPIRED": "OrdersExpired",
    "CANCELLED": "OrdersCancelled",
    "REFUNDED": "OrdersRefunded",
}


def insert_order(order: dict, outbox: list[dict]) -> bool:
    """Store a new order with its outbox; returns False when an order with that id exists.

    The order keeps the current correlation id, so that later work on it
    without a request, such as its expiry, logs under the same id.
    """
    observability.set_order_id(order["orderId"])
    document = {**order, OUTBOX: outbox, "correlationId": observability.current_correlation_id()}
    inserted = write_if("put_item", TableName=setting("ORDERS_TABLE"), Item=to_item(document), ConditionExpression="attribute_not_exists(orderId)")
    if inserted:
        observability.count("OrdersPlaced")
    return inserted


def get_order(order_id: str) -> dict | None:
    return get_document("ORDERS_TABLE", {"orderId": {"S": order_id}})


def move_order(order_id: str, target: OrderStatus, outbox: list[dict] | None = None, changes: dict | None = None) -> bool:
    """Move an order to `target` if it is in one of the states allowed before it.

    Returns False, and changes nothing, when the order is elsewhere: the event
    that asked for the move is then a duplicate or came too late. Every move
    increments the order's `version`.
    """
    sources = sorted(state.value for state in PREVIOUS_STATES[target])
    moved = _update(order_id, sources, {"status": target.value, **(changes or {})}, outbox, leaves_payment_wait=target not in AWAITING_PAYMENT)
    if moved:
        observability.count(STATE_METRICS.get(target.value))
    return moved


def publish_for(order_id: str, statuses: Iterable[OrderStatus], outbox: list[dict]) -> bool:
    """Send messages about an order without changing its state, if it is in one of `statuses`."""
    return _update(order_id, sorted(state.value for state in statuses), {}, outbox, leaves_payment_wait=False)


def set_fields(order_id: str, changes: dict, outbox: list[dict] | None = None) -> bool:
    """Set fields of an existing order, whatever its state; returns False if it does not exist."""
    return _update(order_id, None, changes, outbox, leaves_payment_wait=False)


def _update(order_id: str, sources: list[str] | None, changes: dict, outbox: list[dict] | None, leaves_payment_wait: bool) -> bool:
    names = {}
    values = {":now": {"S": datetime.now(timezone.utc).isoformat()}, ":one": {"N": "1"}, ":zero": {"N": "0"}}
    assignments = ["updatedAt = :now", "version = if_not_exists(version, :zero) + :one"]
    for index, (name, value) in enumerate({**changes, **({OUTBOX: outbox} if outbox else {})}.items()):
        # "status" is a reserved word in DynamoDB expressions, so every field goes through a name placeholder.
        names[f"#field{index}"] = name
        values[f":field{index}"] = to_value(value)
        assignments.append(f"#field{index} = :field{index}")
    condition = "attribute_exists(orderId)"
    if sources is not None:
        placeholders = []
        for index, source in enumerate(sources):
            values[f":from{index}"] = {"S": source}
            placeholders.append(f":from{index}")
        names["#status"] = "status"
        condition += f" AND #status IN ({', '.join(placeholders)})"
    expression = "SET " + ", ".join(assignments)
    if leaves_payment_wait:
        # Removing awaitingPayment takes the order out of the sparse deadline index, so the expiry job no longer finds it.
        expression += " REMOVE awaitingPayment"
    return write_if(
        "update_item",
        TableName=setting("ORDERS_TABLE"),
        Key={"orderId": {"S": order_id}},
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def overdue_orders(now: datetime, limit: int = 100) -> list[dict]:
    """Orders still waiting for payment whose deadline is at or before `now`, oldest first."""
    response = client("dynamodb").query(
        TableName=setting("ORDERS_TABLE"),
        IndexName="PaymentDeadlineIndex",
        KeyConditionExpression="awaitingPayment = :yes AND paymentDeadline <= :now",
        ExpressionAttributeValues={":yes": {"S": "1"}, ":now": {"S": now.isoformat()}},
        Limit=limit,
    )
    return [from_item(item) for item in response.get("Items", [])]


def save_catalog_entry(product: ProductPriced) -> None:
    """Store a product's price unless a newer one is already stored (messages may arrive out of order)."""
    try:
        client("dynamodb").put_item(
            TableName=setting("ORDER_CATALOG_TABLE"),
            Item=to_item(
                {
                    "sku": product.sku,
                    "name": product.name,
                    "category": product.category,
                    "price": product.price.model_dump(),
                    "updatedAt": product.updated_at.isoformat(),
                }
            ),
            ConditionExpression="attribute_not_exists(sku) OR updatedAt <= :at",
            ExpressionAttributeValues={":at": {"S": product.updated_at.isoformat()}},
        )
    except Exception as error:
        if not is_error(error, "ConditionalCheckFailedException"):
            raise


def get_prices(skus: Iterable[str]) -> dict[str, Money]:
    """Return the catalogue price of each known SKU among `skus`."""
    unique = sorted(set(skus))
    table = setting("ORDER_CATALOG_TABLE")
    prices: dict[str, Money] = {}
    # BatchGetItem takes at most 100 keys, and orders have at most 50 lines.
    request = {table: {"Keys": [{"sku": {"S": sku}} for sku in unique], "ConsistentRead": True}}
    while request:
        response = client("dynamodb").batch_get_item(RequestItems=request)
        for item in response["Responses"].get(table, []):
            entry = from_item(item)
            prices[entry["sku"]] = Money.model_validate(entry["price"])
        request = response.get("UnprocessedKeys") or {}
    return prices
