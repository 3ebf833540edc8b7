"""The payments table: one payment per order, written once, refunded at most once."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.aws import client, get_document, is_error, setting, to_item, to_value
from shared.outbox import OUTBOX

CAPTURED = "CAPTURED"
DECLINED = "DECLINED"
REFUNDED = "REFUNDED"


def record_payment(payment: dict, outbox: list[dict]) -> bool:
    """Store a payment outcome with its outbox unless the order already has one; returns whether it was stored."""
    document = {**payment, "createdAt": datetime.now(timezone.utc).isoformat(), OUTBOX: outbox}
    try:
        client("dynamodb").put_item(TableName=setting("PAYMENTS_TABLE"), Item=to_item(document), ConditionExpression="attribute_not_exists(orderId)")
    except Exception as error:
        if is_error(error, "ConditionalCheckFailedException"):
            return False
        raise
    return True


def get_payment(order_id: str) -> dict | None:
    return get_document("PAYMENTS_TABLE", {"orderId": {"S": order_id}})


def mark_refunded(order_id: str, refund_id: str, outbox: list[dict]) -> bool:
    """Record the refund of a captured payment; returns False when it was not captured or is refunded already."""
    try:
        client("dynamodb").update_item(
            TableName=setting("PAYMENTS_TABLE"),
            Key={"orderId": {"S": order_id}},
            UpdateExpression="SET #status = :refunded, refundId = :refund, refundedAmount = amount, refundedAt = :now, outbox = :outbox",
            ConditionExpression="#status = :captured",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":refunded": {"S": REFUNDED},
                ":captured": {"S": CAPTURED},
                ":refund": {"S": refund_id},
                ":now": {"S": datetime.now(timezone.utc).isoformat()},
                ":outbox": to_value(outbox),
            },
        )
    except Exception as error:
        if is_error(error, "ConditionalCheckFailedException"):
            return False
        raise
    return True
