"""POST /webhooks/payments: the payment provider reports the outcome of a capture, signed.

An event may arrive twice, before capture-payment requested the capture, or
at the same time as the capture's own response. In every case the orders
domain receives one outcome per order (shared.payments.settlement). A repeated event
gets 200 with `duplicate: true` and changes nothing, so the provider stops
sending it.
"""

from shared.api import SIGNED, operation
from shared.http import create_app
from shared.payments.model import PaymentWebhook, WebhookReceipt
from shared.payments.settlement import receive_report

app = create_app("payment-webhook")


@operation(
    app,
    "POST",
    "/webhooks/payments",
    summary="Receive the payment provider's signed report of a capture's outcome",
    access=SIGNED,
    signed_with="PAYMENT_WEBHOOK_SECRET_ARN",
    response=WebhookReceipt,
    body=PaymentWebhook,
    errors={409: ("PAYMENT_AMOUNT_MISMATCH", "PAYMENT_CONFLICT", "PAYMENT_CHANGED")},
)
def receive_payment_webhook(body: PaymentWebhook):
    receipt = receive_report(body.order_id, body.report())
    return WebhookReceipt(event_id=body.event_id, order_id=body.order_id, payment_status=receipt.status, duplicate=receipt.duplicate)
