"""Capture an order's payment through the provider, once, and report the outcome."""

from chalice import Chalice

from shared.messages import CapturePayment, Message, PaymentCaptured, PaymentDeclined
from shared.money import Money
from shared.payments import provider, table
from shared.queues import consume, send

app = Chalice(app_name="capture-payment")


@app.on_sqs_message(queue="CapturePaymentQueue", batch_size=10)
def capture_payment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CapturePayment):
        raise TypeError(f"capture-payment cannot handle {message.type} messages")

    # A payment already on record means this is a redelivery: report the stored
    # outcome instead of charging the card again.
    payment = table.get_payment(message.order_id)
    if payment is None:
        outcome = provider.capture(message.token, message.amount, reference=message.order_id)
        payment = table.record_payment(
            {
                "orderId": message.order_id,
                "status": "CAPTURED" if outcome.captured else "DECLINED",
                "paymentId": outcome.payment_id,
                "declineReason": outcome.decline_reason,
                "amount": message.amount.model_dump(),
            }
        )

    if payment["status"] == "CAPTURED":
        amount = Money.model_validate(payment["amount"])
        send("ORDER_EVENTS_QUEUE_URL", PaymentCaptured(order_id=message.order_id, payment_id=payment["paymentId"], amount=amount))
    else:
        send("ORDER_EVENTS_QUEUE_URL", PaymentDeclined(order_id=message.order_id, reason=payment["declineReason"]))
