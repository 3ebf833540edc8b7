"""Payments: the states of an order's payment record and the provider's reports that settle it.

One record per order, keyed by order id. Its states:

- NOTIFIED: the provider reported an outcome by webhook before capture-payment
  requested the capture; the report is kept and applied when the request comes.
- PENDING: the capture was requested and the provider will report the outcome by webhook.
- CAPTURED, DECLINED: settled. The write that settles a record also puts
  PaymentCaptured or PaymentDeclined in its outbox, and only the states above
  may be settled, so the orders domain hears exactly one outcome per order.
- REFUNDED: a captured payment, refunded.

Every move is a conditional write on the state it starts from, so two writers
(a webhook and capture-payment, or two deliveries of one of them) never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from shared.errors import Conflict
from shared.http import IDENTIFIER_PATTERN
from shared.messages import PaymentCaptured, PaymentDeclined
from shared.models import RequestModel, ResponseModel
from shared.money import Money

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
# The provider's own ids: the identifier alphabet, with room for a prefix on an order id.
ProviderIdentifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]

SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"
# The reason reported to the orders domain when a payment.failed event gives none.
DEFAULT_FAILURE_REASON = "payment_failed"


class PaymentStatus(str, Enum):
    NOTIFIED = "NOTIFIED"
    PENDING = "PENDING"
    CAPTURED = "CAPTURED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"


# States a provider's report may still settle.
UNSETTLED = frozenset({PaymentStatus.NOTIFIED, PaymentStatus.PENDING})


class PaymentWebhook(RequestModel):
    """A payment provider's event: the outcome of the capture of one order's payment."""

    event_id: ProviderIdentifier
    type: Literal["payment.succeeded", "payment.failed"]
    order_id: Identifier
    payment_id: ProviderIdentifier
    amount: Money
    reason: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    occurred_at: Annotated[AwareDatetime, Field(strict=False)]

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _require_text(cls, value: object) -> object:
        # pydantic would also take a number of seconds; the API promises ISO 8601 only.
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date and time with a zone, e.g. 2026-12-01T10:00:00Z")
        return value

    def report(self) -> ProviderReport:
        return ProviderReport(
            captured=self.type == SUCCEEDED,
            payment_id=self.payment_id,
            amount=self.amount,
            decline_reason=None if self.type == SUCCEEDED else self.reason or DEFAULT_FAILURE_REASON,
            event_id=self.event_id,
            occurred_at=self.occurred_at.isoformat(),
        )


class WebhookReceipt(ResponseModel):
    """The response to a payment event: the order's payment state, and whether the event changed nothing."""

    event_id: str
    order_id: str
    payment_status: PaymentStatus
    duplicate: bool


@dataclass(frozen=True)
class ProviderReport:
    """An outcome of the capture of one order's payment, as the provider reported it."""

    captured: bool
    payment_id: str
    amount: Money
    decline_reason: str | None = None
    # The webhook event that carried the report; None for a capture's own response.
    event_id: str | None = None
    occurred_at: str | None = None

    @property
    def status(self) -> PaymentStatus:
        return PaymentStatus.CAPTURED if self.captured else PaymentStatus.DECLINED

    def message(self, order_id: str) -> PaymentCaptured | PaymentDeclined:
        """Return the PaymentCaptured or PaymentDeclined event that reports this outcome to the orders domain."""
        if self.captured:
            return PaymentCaptured(order_id=order_id, payment_id=self.payment_id, amount=self.amount)
        return PaymentDeclined(order_id=order_id, reason=self.decline_reason or DEFAULT_FAILURE_REASON)

    def to_document(self) -> dict[str, Any]:
        return {
            "captured": self.captured,
            "paymentId": self.payment_id,
            "amount": self.amount.model_dump(),
            "declineReason": self.decline_reason,
            "eventId": self.event_id,
            "occurredAt": self.occurred_at,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ProviderReport:
        return cls(
            captured=bool(document["captured"]),
            payment_id=document["paymentId"],
            amount=Money.model_validate(document["amount"]),
            decline_reason=document.get("declineReason"),
            event_id=document.get("eventId"),
            occurred_at=document.get("occurredAt"),
        )


def check_amount(order_id: str, expected: Money, report: ProviderReport) -> None:
    """Raise Conflict PAYMENT_AMOUNT_MISMATCH when the provider reports another amount or currency than `expected`."""
    if report.amount != expected:
        raise Conflict(
            "PAYMENT_AMOUNT_MISMATCH",
            f"order {order_id!r}: the event reports {report.amount.amount} {report.amount.currency} "
            f"but {expected.amount} {expected.currency} was requested; nothing was changed",
        )


def check_agreement(order_id: str, payment: dict[str, Any], report: ProviderReport) -> None:
    """Raise Conflict when `report` contradicts the payment on record; return when it repeats it.

    A report repeats a record when it has the same outcome and amount, and,
    for a capture, the same payment id.
    """
    recorded = _recorded_report(payment)
    if recorded.captured != report.captured:
        raise Conflict(
            "PAYMENT_CONFLICT",
            f"order {order_id!r}: the event reports {report.status.value} but the payment is {payment['status']}; nothing was changed",
        )
    if report.captured and recorded.payment_id != report.payment_id:
        raise Conflict(
            "PAYMENT_CONFLICT",
            f"order {order_id!r}: the event reports payment {report.payment_id!r} but {recorded.payment_id!r} was captured; nothing was changed",
        )
    check_amount(order_id, recorded.amount, report)


def check_pending(order_id: str, payment: dict[str, Any], report: ProviderReport) -> None:
    """Raise Conflict when `report` cannot settle this PENDING payment: another payment id or another amount."""
    if report.payment_id != payment["paymentId"]:
        raise Conflict(
            "PAYMENT_CONFLICT",
            f"order {order_id!r}: the event reports payment {report.payment_id!r} but the capture of {payment['paymentId']!r} is pending; nothing was changed",
        )
    check_amount(order_id, Money.model_validate(payment["amount"]), report)


def _recorded_report(payment: dict[str, Any]) -> ProviderReport:
    if payment["status"] == PaymentStatus.NOTIFIED.value:
        return ProviderReport.from_document(payment["notification"])
    return ProviderReport(
        # A refunded payment was captured first.
        captured=payment["status"] != PaymentStatus.DECLINED.value,
        payment_id=payment.get("paymentId", ""),
        amount=Money.model_validate(payment["amount"]),
        decline_reason=payment.get("declineReason"),
    )
