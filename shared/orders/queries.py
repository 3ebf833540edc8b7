"""Listing orders: a customer's own, newest first, and all orders of a status for staff."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.aws import client, from_item, setting
from shared.pagination import decode_cursor, encode_cursor


def customer_orders(customer_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """`customer_id`'s orders, newest first; returns the page and the next cursor."""
    arguments = {
        "IndexName": "CustomerOrdersIndex",
        "KeyConditionExpression": "customerId = :customer",
        "ExpressionAttributeValues": {":customer": {"S": customer_id}},
    }
    start = decode_cursor(cursor, {"orderId", "customerId", "createdAt"}, {"customerId": customer_id})
    return _query(arguments, limit, start)


def orders_by_status(status: str, created_from: datetime | None, created_to: datetime | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Orders in `status` created within the optional bounds (inclusive), newest first."""
    condition = "#status = :status"
    values = {":status": {"S": status}}
    # createdAt is stored as UTC ISO 8601 text, so comparing text compares times.
    if created_from is not None and created_to is not None:
        condition += " AND createdAt BETWEEN :from AND :to"
    elif created_from is not None:
        condition += " AND createdAt >= :from"
    elif created_to is not None:
        condition += " AND createdAt <= :to"
    if created_from is not None:
        values[":from"] = {"S": _utc(created_from)}
    if created_to is not None:
        values[":to"] = {"S": _utc(created_to)}
    arguments = {
        "IndexName": "StatusIndex",
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
    }
    start = decode_cursor(cursor, {"orderId", "status", "createdAt"}, {"status": status})
    return _query(arguments, limit, start)


def _query(arguments: dict, limit: int, start: dict | None) -> tuple[list[dict], str | None]:
    arguments = {**arguments, "TableName": setting("ORDERS_TABLE"), "ScanIndexForward": False, "Limit": limit}
    if start:
        arguments["ExclusiveStartKey"] = start
    response = client("dynamodb").query(**arguments)
    order_ids = [item["orderId"]["S"] for item in response.get("Items", [])]
    return _orders(order_ids), encode_cursor(response.get("LastEvaluatedKey"))


def _orders(order_ids: list[str]) -> list[dict]:
    """Read the orders behind a page of index keys, in the index's order (at most 100, BatchGetItem's limit)."""
    if not order_ids:
        return []
    table = setting("ORDERS_TABLE")
    found: dict[str, dict] = {}
    request = {table: {"Keys": [{"orderId": {"S": order_id}} for order_id in order_ids]}}
    while request:
        response = client("dynamodb").batch_get_item(RequestItems=request)
        for item in response["Responses"].get(table, []):
            order = from_item(item)
            found[order["orderId"]] = order
        request = response.get("UnprocessedKeys") or {}
    # The index is eventually consistent with the table, but orders are never deleted, so every key is found.
    return [found[order_id] for order_id in order_ids if order_id in found]


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()
