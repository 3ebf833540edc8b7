"""Browsing products by category, and stock adjustments kept as stock movements.

A movement item (`MOVEMENT#<id>`) records each manual change of a product's
sellable stock: the action, the quantity, the stock before and after, the
reason and who made it. The movement and the new stock are written in one
transaction, conditional on the stock read just before, so the record is
exact even while orders reserve stock at the same time.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timezone

from shared.aws import cancellation_codes, client, from_item, is_error, setting, to_item
from shared.errors import Conflict, NotFound
from shared.inventory.model import MAX_STOCK
from shared.inventory.table import get_product
from shared.pagination import decode_cursor, encode_cursor

ADD = "add"
REMOVE = "remove"
SET = "set"

# Attempts at an adjustment whose product keeps changing under it (orders
# reserving stock) before the request fails with STOCK_CHANGED.
ADJUST_ATTEMPTS = 8


class InsufficientStock(Conflict):
    def __init__(self, sku: str, stock: int, quantity: int) -> None:
        super().__init__("INSUFFICIENT_STOCK", f"product {sku!r} has {stock} units in stock, fewer than the {quantity} to remove")


class StockLimitExceeded(Conflict):
    def __init__(self, sku: str, stock: int, quantity: int) -> None:
        super().__init__("STOCK_LIMIT_EXCEEDED", f"adding {quantity} units to the {stock} of product {sku!r} would exceed {MAX_STOCK}")


def list_products(category: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Products of `category` in SKU order, one page at a time; returns the page and the next cursor."""
    start = decode_cursor(cursor, {"pk", "category", "sku"}, {"category": category})
    return _page("CategoryIndex", "category = :category", {":category": {"S": category}}, limit, start, newest_first=False)


def adjust_stock(sku: str, action: str, quantity: int, reason: str, actor: str) -> tuple[dict, dict]:
    """Add, remove or set a product's sellable stock and record the movement; returns (product, movement).

    Raises NotFound for an unknown product, InsufficientStock when removing more
    than is in stock, and Conflict (STOCK_CHANGED) when the product kept changing.
    """
    for attempt in range(ADJUST_ATTEMPTS):
        product = get_product(sku)
        if product is None:
            raise NotFound("PRODUCT_NOT_FOUND", f"product {sku!r} does not exist")
        before = product["stock"]
        after = _stock_after(sku, action, before, quantity)
        movement_id = uuid.uuid4().hex
        movement = {
            "pk": f"MOVEMENT#{movement_id}",
            "movementId": movement_id,
            "movementSku": sku,
            "at": datetime.now(timezone.utc).isoformat(),
            "action": action,
            "quantity": quantity,
            "stockBefore": before,
            "stockAfter": after,
            "reason": reason,
            "actor": actor,
        }
        if _write(sku, before, after, movement):
            return {**product, "stock": after}, movement
        time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
    raise Conflict("STOCK_CHANGED", f"the stock of product {sku!r} kept changing during the adjustment: retry the request")


def list_movements(sku: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """A product's stock movements, newest first; returns the page and the next cursor."""
    start = decode_cursor(cursor, {"pk", "movementSku", "at"}, {"movementSku": sku})
    return _page("StockMovementIndex", "movementSku = :sku", {":sku": {"S": sku}}, limit, start, newest_first=True)


def _page(index: str, condition: str, values: dict, limit: int, start: dict | None, newest_first: bool) -> tuple[list[dict], str | None]:
    arguments = {
        "TableName": setting("INVENTORY_TABLE"),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not newest_first,
        "Limit": limit,
    }
    if start:
        arguments["ExclusiveStartKey"] = start
    response = client("dynamodb").query(**arguments)
    return [from_item(item) for item in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))


def _stock_after(sku: str, action: str, before: int, quantity: int) -> int:
    if action == ADD:
        if before + quantity > MAX_STOCK:
            raise StockLimitExceeded(sku, before, quantity)
        return before + quantity
    if action == REMOVE:
        if quantity > before:
            raise InsufficientStock(sku, before, quantity)
        return before - quantity
    return quantity


def _write(sku: str, before: int, after: int, movement: dict) -> bool:
    """Write the new stock and the movement if the stock is still `before`; False if it changed."""
    table = setting("INVENTORY_TABLE")
    actions = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": f"PRODUCT#{sku}"}},
                "UpdateExpression": "SET stock = :after",
                "ConditionExpression": "attribute_exists(pk) AND stock = :before",
                "ExpressionAttributeValues": {":before": {"N": str(before)}, ":after": {"N": str(after)}},
            }
        },
        {"Put": {"TableName": table, "Item": to_item(movement), "ConditionExpression": "attribute_not_exists(pk)"}},
    ]
    try:
        client("dynamodb").transact_write_items(TransactItems=actions)
    except Exception as error:
        if is_error(error, "TransactionCanceledException") and any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in cancellation_codes(error)):
            return False
        raise
    return True
