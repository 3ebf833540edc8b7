"""The orders domain's tables: orders, and its priced copy of the catalogue."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from shared.aws import client, from_item, is_error, setting, to_item, to_value
from shared.messages import ProductPriced
from shared.money import Money
from shared.orders.model import PREVIOUS_STATES, OrderStatus


def insert_order(order: dict) -> None:
    client("dynamodb").put_item(
        TableName=setting("ORDERS_TABLE"),
        Item=to_item(order),
        ConditionExpression="attribute_not_exists(orderId)",
    )


def get_order(order_id: str) -> dict | None:
    response = client("dynamodb").get_item(TableName=setting("ORDERS_TABLE"), Key={"orderId": {"S": order_id}}, ConsistentRead=True)
    item = response.get("Item")
    return from_item(item) if item else None


def move_order(order_id: str, target: OrderStatus, changes: dict | None = None) -> bool:
    """Move an order to `target` if it is in one of the states allowed before it.

    Returns False, and changes nothing, when the order is elsewhere: the event
    that asked for the move is then a duplicate or came too late.
    """
    sources = sorted(state.value for state in PREVIOUS_STATES[target])
    values = {f":from{index}": {"S": source} for index, source in enumerate(sources)}
    values[":target"] = {"S": target.value}
    values[":now"] = {"S": datetime.now(timezone.utc).isoformat()}
    assignments = ["#status = :target", "updatedAt = :now"]
    for index, (name, value) in enumerate((changes or {}).items()):
        assignments.append(f"#change{index} = :change{index}")
        values[f":change{index}"] = to_value(value)
    names = {"#status": "status", **{f"#change{index}": name for index, name in enumerate(changes or {})}}
    try:
        client("dynamodb").update_item(
            TableName=setting("ORDERS_TABLE"),
            Key={"orderId": {"S": order_id}},
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression=f"attribute_exists(orderId) AND #status IN ({', '.join(values_for(sources))})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except Exception as error:
        if is_error(error, "ConditionalCheckFailedException"):
            return False
        raise
    return True


def values_for(sources: list[str]) -> list[str]:
    return [f":from{index}" for index in range(len(sources))]


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


def set_shipment(order_id: str, shipment_id: str) -> None:
    """Record the order's shipment; repeating it is harmless because the id never changes."""
    client("dynamodb").update_item(
        TableName=setting("ORDERS_TABLE"),
        Key={"orderId": {"S": order_id}},
        UpdateExpression="SET shipmentId = :shipment",
        ConditionExpression="attribute_exists(orderId)",
        ExpressionAttributeValues={":shipment": {"S": shipment_id}},
    )
