"""Settling an order's payment from its two sources: capture-payment's request and the provider's webhook.

Both run the same loop: read the record, decide, make one conditional write,
and read again when another writer changed the record first. Each loop ends
after a few rounds, because every lost race moves the record one step closer
to a settled state, which ends the loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.errors import Conflict
from shared.messages import CapturePayment
from shared.outbox import entries
from shared.payments import provider, table
from shared.payments.model import PaymentStatus, ProviderReport, check_agreement, check_pending

log = logging.getLogger(__name__)

# A record goes from none to NOTIFIED or PENDING, then to settled, so a writer
# loses at most two races and the third round always decides.
MAX_ROUNDS = 3


class CaptureAmountMismatch(Exception):
    """The provider reported, before the capture was requested, another amount than the request's."""


@dataclass(frozen=True)
class Receipt:
    """The payment state after a webhook event, and whether the event changed nothing."""

    status: PaymentStatus
    duplicate: bool


def request_capture(command: CapturePayment) -> None:
    """Capture the order's payment once, or apply the outcome the provider already reported.

    A CapturePayment that finds its payment PENDING or settled is a
    redelivery and does nothing. Raises CaptureAmountMismatch when an early
    webhook reported another amount, so the message is retried and then
    dead-lettered for an operator, and provider.ProviderUnavailable as the
    provider does.
    """
    order_id = command.order_id
    for _ in range(MAX_ROUNDS):
        payment = table.get_payment(order_id)
        if payment is None:
            written = _capture(command)
        elif payment["status"] == PaymentStatus.NOTIFIED.value:
            report = ProviderReport.from_document(payment["notification"])
            if report.amount != command.amount:
                raise CaptureAmountMismatch(
                    f"order {order_id}: the provider reported {report.amount.amount} {report.amount.currency} "
                    f"before the capture of {command.amount.amount} {command.amount.currency} was requested"
                )
            written = table.settle(order_id, report, _outbox(order_id, report), previous=PaymentStatus.NOTIFIED)
        else:
            return
        if written:
            return
    raise RuntimeError(f"payment of order {order_id} changed {MAX_ROUNDS} times while its capture was recorded")


def receive_report(order_id: str, report: ProviderReport) -> Receipt:
    """Apply a provider's webhook report to the order's payment.

    Stores it when the capture was not requested yet, settles a PENDING
    payment, and accepts a repeat of what is recorded as a duplicate. Raises
    Conflict (PAYMENT_AMOUNT_MISMATCH or PAYMENT_CONFLICT) when the report
    contradicts the request or the record; nothing is written then.
    """
    for _ in range(MAX_ROUNDS):
        payment = table.get_payment(order_id)
        if payment is None:
            if table.record_notification(order_id, report):
                log.info("payment reported before its capture was requested", extra={"order_id": order_id, "event_id": report.event_id})
                return Receipt(PaymentStatus.NOTIFIED, duplicate=False)
        elif payment["status"] == PaymentStatus.PENDING.value:
            check_pending(order_id, payment, report)
            if table.settle(order_id, report, _outbox(order_id, report), previous=PaymentStatus.PENDING):
                return Receipt(report.status, duplicate=False)
        else:
            check_agreement(order_id, payment, report)
            return Receipt(PaymentStatus(payment["status"]), duplicate=True)
    raise Conflict("PAYMENT_CHANGED", f"the payment of order {order_id!r} changed while the event was applied: send the event again")


def _capture(command: CapturePayment) -> bool:
    # The order id is the provider's idempotency reference, so a capture repeated
    # after a crash before the write returns the same payment.
    capture = provider.capture(command.token, command.amount, reference=command.order_id)
    if capture.pending:
        return table.record_pending(command.order_id, capture.payment_id, command.amount)
    report = ProviderReport(captured=capture.captured, payment_id=capture.payment_id, amount=command.amount, decline_reason=capture.decline_reason)
    return table.settle(command.order_id, report, _outbox(command.order_id, report), previous=None)


def _outbox(order_id: str, report: ProviderReport) -> list[dict]:
    return entries(("ORDER_EVENTS_QUEUE_URL", report.message(order_id)))
