"""Capture an order's payment through the provider, once, and report the outcome.

The outcome may also come from the provider's webhook (payment-webhook): one
that arrived before this request is applied here, and a capture the provider
leaves pending is settled by the webhook. Either way the orders domain hears
one outcome (shared.payments.settlement).
"""

from chalice import Chalice

from shared.messages import CapturePayment, Message
from shared.payments.settlement import request_capture
from shared.queues import consume

app = Chalice(app_name="capture-payment")


@app.on_sqs_message(queue="CapturePaymentQueue", batch_size=10)
def capture_payment(event):
    return consume(event, handle)


def handle(message: Message) -> None:
    if not isinstance(message, CapturePayment):
        raise TypeError(f"capture-payment cannot handle {message.type} messages")

    request_capture(message)
