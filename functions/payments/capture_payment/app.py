"""Capture an order's payment through the provider, once, and report the outcome."""

from chalice import Chalice

from shared.messages import CapturePayment, Message, PaymentCaptured, PaymentDeclined
from shared.outbox import entries
from shared.payments import provider, table
from shared.queues import consume

app = Chalice(app_name="capture-payment")


@app.on_sqs_message(queue="CapturePaymentQueue", batch_size=10)
def capture_payment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CapturePayment):
        raise TypeError(f"capture-payment cannot handle {message.type} messages")

    # A payment already on record means this is a redelivery: its outcome was
    # written together with its message, so there is nothing left to do.
    if table.get_payment(message.order_id) is not None:
        return

    # The order id is the provider's idempotency reference, so a capture repeated
    # after a crash before the write below returns the same payment.
    outcome = provider.capture(message.token, message.amount, reference=message.order_id)
    if outcome.captured:
        result = PaymentCaptured(order_id=message.order_id, payment_id=outcome.payment_id, amount=message.amount)
    else:
        result = PaymentDeclined(order_id=message.order_id, reason=outcome.decline_reason)
    table.record_payment(
        {
            "orderId": message.order_id,
            "status": table.CAPTURED if outcome.captured else table.DECLINED,
            "paymentId": outcome.payment_id,
            "declineReason": outcome.decline_reason,
            "amount": message.amount.model_dump(),
        },
        entries(("ORDER_EVENTS_QUEUE_URL", result)),
    )
