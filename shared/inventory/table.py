"""The inventory table: one item per product (`PRODUCT#sku`) and per reservation (`RESERVATION#orderId`).

`stock` is what can still be sold; `reserved` counts units held for orders
until they are released back to `stock` or leave with a shipment (`sold`).
A reservation moves units from `stock` to `reserved` for all lines of an
order in one transaction, and its own item records the outcome, so a
redelivered message finds the decision already made.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from typing import Callable

from shared import observability
from shared.aws import cancellation_codes, client, from_item, get_document, is_error, setting, to_item, to_value
from shared.inventory.model import PutProductRequest
from shared.outbox import OUTBOX

RESERVED = "RESERVED"
REJECTED = "REJECTED"
RELEASED = "RELEASED"
COMMITTED = "COMMITTED"

# Attempts at a reservation that keeps colliding with concurrent ones before
# the message is handed back to SQS.
CONFLICT_ATTEMPTS = 10


def _product_key(sku: str) -> dict:
    return {"pk": {"S": f"PRODUCT#{sku}"}}


def _reservation_key(order_id: str) -> dict:
    return {"pk": {"S": f"RESERVATION#{order_id}"}}


def put_product(sku: str, request: PutProductRequest, outbox: Callable[[str], list[dict]]) -> tuple[dict, bool]:
    """Create or replace a product and set its sellable stock; returns the product and whether it is new.

    `outbox` builds the messages of this change from its timestamp.
    """
    now = datetime.now(timezone.utc).isoformat()
    response = client("dynamodb").update_item(
        TableName=setting("INVENTORY_TABLE"),
        Key=_product_key(sku),
        UpdateExpression=(
            "SET sku = :sku, #name = :name, category = :category, price = :price, stock = :stock, "
            "reserved = if_not_exists(reserved, :zero), sold = if_not_exists(sold, :zero), "
            "updatedAt = :now, createdAt = if_not_exists(createdAt, :now), outbox = :outbox"
        ),
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues={
            ":sku": {"S": sku},
            ":name": {"S": request.name},
            ":category": {"S": request.category},
            ":price": {"M": to_item(request.price.model_dump())},
            ":stock": {"N": str(request.stock)},
            ":zero": {"N": "0"},
            ":now": {"S": now},
            ":outbox": to_value(outbox(now)),
        },
        ReturnValues="ALL_NEW",
    )
    product = from_item(response["Attributes"])
    return product, product["createdAt"] == now


def get_product(sku: str) -> dict | None:
    return get_document("INVENTORY_TABLE", _product_key(sku))


def get_reservation(order_id: str) -> dict | None:
    return get_document("INVENTORY_TABLE", _reservation_key(order_id))


def reserve(
    order_id: str,
    units: dict[str, int],
    reserved_outbox: list[dict] | None = None,
    rejected_outbox: Callable[[list[str]], list[dict]] | None = None,
) -> tuple[str, list[str]]:
    """Reserve every SKU's units for an order, or none of them.

    Returns the reservation's status (RESERVED or REJECTED) and the SKUs that
    lacked stock. The reservation record carries the outbox for its outcome,
    so the outcome and its message are written together. A second call for
    the same order changes nothing and returns the first outcome.
    """
    table = setting("INVENTORY_TABLE")
    now = datetime.now(timezone.utc).isoformat()
    record = {"pk": f"RESERVATION#{order_id}", "orderId": order_id, "units": units, "createdAt": now}
    reserved = {**record, "status": RESERVED, OUTBOX: reserved_outbox or None}
    actions = [{"Put": {"TableName": table, "Item": to_item(reserved), "ConditionExpression": "attribute_not_exists(pk)"}}]
    for sku, quantity in units.items():
        actions.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": _product_key(sku),
                    "UpdateExpression": "SET stock = stock - :quantity, reserved = reserved + :quantity",
                    # The condition is what prevents overselling under concurrent orders.
                    "ConditionExpression": "attribute_exists(pk) AND stock >= :quantity",
                    "ExpressionAttributeValues": {":quantity": {"N": str(quantity)}},
                }
            }
        )
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            client("dynamodb").transact_write_items(TransactItems=actions)
            observability.count("StockReserved")
            return RESERVED, []
        except Exception as error:
            if not is_error(error, "TransactionCanceledException"):
                raise
            codes = cancellation_codes(error)

        if codes and codes[0] == "ConditionalCheckFailed":
            existing = get_reservation(order_id)
            return existing["status"], existing.get("shortSkus", [])
        short = [sku for sku, code in zip(units, codes[1:]) if code == "ConditionalCheckFailed"]
        if short:
            outbox = rejected_outbox(short) if rejected_outbox else None
            return _record_rejection(order_id, {**record, OUTBOX: outbox}, short)
        # Another transaction touched the same products at the same moment
        # (TransactionConflict): back off with jitter and try again.
        observability.count("ReservationConflicts")
        time.sleep(random.uniform(0, 0.02 * (attempt + 1)))

    # Still conflicting: raising makes SQS deliver the message again later.
    raise RuntimeError(f"reservation for order {order_id} kept conflicting: {codes}")


def _record_rejection(order_id: str, record: dict, short: list[str]) -> tuple[str, list[str]]:
    try:
        client("dynamodb").put_item(
            TableName=setting("INVENTORY_TABLE"),
            Item=to_item({**record, "status": REJECTED, "shortSkus": short}),
            ConditionExpression="attribute_not_exists(pk)",
        )
    except Exception as error:
        if not is_error(error, "ConditionalCheckFailedException"):
            raise
        existing = get_reservation(order_id)
        return existing["status"], existing.get("shortSkus", [])
    observability.count("StockRejected")
    return REJECTED, short


def release(order_id: str) -> bool:
    """Give a reservation's units back to stock; returns False when there was nothing held."""
    return _settle(order_id, RELEASED, "SET stock = stock + :quantity, reserved = reserved - :quantity")


def commit(order_id: str) -> bool:
    """Count a reservation's units as sold; returns False when there was nothing held."""
    return _settle(order_id, COMMITTED, "SET sold = if_not_exists(sold, :zero) + :quantity, reserved = reserved - :quantity")


def _settle(order_id: str, outcome: str, product_update: str) -> bool:
    reservation = get_reservation(order_id)
    if reservation is None or reservation["status"] != RESERVED:
        return False
    table = setting("INVENTORY_TABLE")
    actions = [
        {
            "Update": {
                "TableName": table,
                "Key": _reservation_key(order_id),
                "UpdateExpression": "SET #status = :outcome",
                # Only one settlement may win, so units are never counted twice.
                "ConditionExpression": "#status = :reserved",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":outcome": {"S": outcome}, ":reserved": {"S": RESERVED}},
            }
        }
    ]
    for sku, quantity in reservation["units"].items():
        values = {":quantity": {"N": str(quantity)}}
        if ":zero" in product_update:
            values[":zero"] = {"N": "0"}
        actions.append({"Update": {"TableName": table, "Key": _product_key(sku), "UpdateExpression": product_update, "ExpressionAttributeValues": values}})
    try:
        client("dynamodb").transact_write_items(TransactItems=actions)
    except Exception as error:
        if is_error(error, "TransactionCanceledException") and cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
            return False
        raise
    return True
