"""The payments table: one payment per order, settled once, refunded at most once (states in shared.payments.model)."""

from __future__ import annotations

from datetime import datetime, timezone

from shared import observability
from shared.aws import get_document, setting, to_item, to_value, write_if
from shared.money import Money
from shared.outbox import OUTBOX
from shared.payments.model import PaymentStatus, ProviderReport

CAPTURED = PaymentStatus.CAPTURED.value
DECLINED = PaymentStatus.DECLINED.value
REFUNDED = PaymentStatus.REFUNDED.value


def settle(order_id: str, report: ProviderReport, outbox: list[dict], previous: PaymentStatus | None) -> bool:
    """Record `report` as the order's outcome with its outbox; returns False when the record was not in `previous`.

    `previous` is None for an order without a record, or NOTIFIED or PENDING.
    Settled states are never the starting state of this write, which is what
    lets one outcome, and one message, through per order.
    """
    now = _now()
    if previous is None:
        document = {
            "orderId": order_id,
            "status": report.status.value,
            "paymentId": report.payment_id,
            "declineReason": report.decline_reason,
            "amount": report.amount.model_dump(),
            "webhookEventId": report.event_id,
            "createdAt": now,
            "settledAt": now,
            OUTBOX: outbox,
        }
        return _counted(report, _put_new(document))

    assignments = "SET #status = :status, paymentId = :payment, amount = :amount, settledAt = :now, outbox = :outbox"
    values = {
        ":status": {"S": report.status.value},
        ":previous": {"S": previous.value},
        ":payment": {"S": report.payment_id},
        ":amount": to_value(report.amount.model_dump()),
        ":now": {"S": now},
        ":outbox": to_value(outbox),
    }
    if report.decline_reason is not None:
        assignments += ", declineReason = :reason"
        values[":reason"] = {"S": report.decline_reason}
    if report.event_id is not None:
        assignments += ", webhookEventId = :event"
        values[":event"] = {"S": report.event_id}
    return _counted(report, _update_from(order_id, previous, assignments + " REMOVE notification", values))


def _counted(report: ProviderReport, settled: bool) -> bool:
    # Only the write that settles the payment counts it, so a redelivery or a repeated webhook counts nothing.
    if settled and report.status is PaymentStatus.DECLINED:
        observability.count("PaymentsDeclined")
    return settled


def record_pending(order_id: str, payment_id: str, amount: Money) -> bool:
    """Record a requested capture whose outcome the provider will report by webhook; returns False when a record exists."""
    now = _now()
    return _put_new({"orderId": order_id, "status": PaymentStatus.PENDING.value, "paymentId": payment_id, "amount": amount.model_dump(), "createdAt": now})


def record_notification(order_id: str, report: ProviderReport) -> bool:
    """Keep a report that arrived before the capture was requested; returns False when a record exists."""
    document = {
        "orderId": order_id,
        "status": PaymentStatus.NOTIFIED.value,
        "amount": report.amount.model_dump(),
        "notification": {key: value for key, value in report.to_document().items() if value is not None},
        "webhookEventId": report.event_id,
        "createdAt": _now(),
    }
    return _put_new(document)


def get_payment(order_id: str) -> dict | None:
    return get_document("PAYMENTS_TABLE", {"orderId": {"S": order_id}})


def mark_refunded(order_id: str, refund_id: str, outbox: list[dict]) -> bool:
    """Record the refund of a captured payment; returns False when it was not captured or is refunded already."""
    return write_if(
        "update_item",
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


def _put_new(document: dict) -> bool:
    return write_if("put_item", TableName=setting("PAYMENTS_TABLE"), Item=to_item(document), ConditionExpression="attribute_not_exists(orderId)")


def _update_from(order_id: str, previous: PaymentStatus, update: str, values: dict) -> bool:
    return write_if(
        "update_item",
        TableName=setting("PAYMENTS_TABLE"),
        Key={"orderId": {"S": order_id}},
        UpdateExpression=update,
        ConditionExpression="#status = :previous",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
