"""The payments table: one payment per order, written once."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.aws import client, from_item, is_error, setting, to_item


def record_payment(payment: dict) -> dict:
    """Store a payment outcome unless the order already has one; returns the stored payment."""
    document = {**payment, "createdAt": datetime.now(timezone.utc).isoformat()}
    try:
        client("dynamodb").put_item(
            TableName=setting("PAYMENTS_TABLE"),
            Item=to_item(document),
            ConditionExpression="attribute_not_exists(orderId)",
        )
    except Exception as error:
        if not is_error(error, "ConditionalCheckFailedException"):
            raise
        return get_payment(payment["orderId"])
    return document


def get_payment(order_id: str) -> dict | None:
    response = client("dynamodb").get_item(TableName=setting("PAYMENTS_TABLE"), Key={"orderId": {"S": order_id}}, ConsistentRead=True)
    item = response.get("Item")
    return from_item(item) if item else None
