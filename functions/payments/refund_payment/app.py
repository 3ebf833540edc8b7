"""Refund the captured payment of an order that was cancelled or expired."""

import logging

from chalice import Chalice

from shared.messages import Message, PaymentRefunded, RefundPayment
from shared.money import Money
from shared.outbox import entries
from shared.payments import provider, table
from shared.queues import consume

app = Chalice(app_name="refund-payment")
# Named rather than __name__, because the local runtime loads this module under another name.
log = logging.getLogger("functions.payments.refund_payment")


@app.on_sqs_message(queue="RefundPaymentQueue", batch_size=10)
def refund_payment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, RefundPayment):
        raise TypeError(f"refund-payment cannot handle {message.type} messages")

    payment = table.get_payment(message.order_id)
    if payment is None or payment["status"] != table.CAPTURED:
        log.info("nothing to refund", extra={"order_id": message.order_id, "status": payment and payment["status"]})
        return

    amount = Money.model_validate(payment["amount"])
    refund_id = provider.refund(payment["paymentId"], amount)
    refunded = PaymentRefunded(order_id=message.order_id, payment_id=payment["paymentId"], amount=amount)
    table.mark_refunded(message.order_id, refund_id, entries(("ORDER_EVENTS_QUEUE_URL", refunded)))
