"""The payment provider's signed webhook and capture-payment against moto: one outcome per order."""

from __future__ import annotations

import threading
import time

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from functions.payments.capture_payment import app as capture_payment
from functions.payments.payment_webhook import app as payment_webhook
from shared.messages import CapturePayment, PaymentCaptured, PaymentDeclined
from shared.money import Money
from shared.payments.provider import payment_id_for
from shared.payments.table import get_payment
from tests.integration.helpers import deliver, receive_all
from tests.integration.signing import rotate, secret_of, signed_call

WEBHOOK = "/webhooks/payments"
AMOUNT = Money(amount=2500, currency="USD")


@pytest.fixture
def secret(deployment):
    return secret_of(deployment, "PaymentWebhookSecret")


def event(order_id: str = "o1", type_: str = "payment.succeeded", amount: dict | None = None, **fields) -> dict:
    body = {
        "eventId": f"evt_{order_id}_{type_}",
        "type": type_,
        "orderId": order_id,
        "paymentId": payment_id_for(order_id),
        "amount": amount or AMOUNT.model_dump(),
        "occurredAt": "2026-12-01T10:00:00Z",
    }
    return body | fields


def post(body: dict, secret, **kwargs) -> tuple[int, dict]:
    return signed_call(payment_webhook.app, WEBHOOK, WEBHOOK, body, secret, **kwargs)


def request_capture(order_id: str = "o1", token: str = "tok_async", amount: Money = AMOUNT) -> dict:
    return deliver(capture_payment.capture_payment, CapturePayment(order_id=order_id, amount=amount, token=token))


def outcomes(deployment) -> list:
    return receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)


def test_async_capture_waits_for_webhook(deployment):
    request_capture()

    assert get_payment("o1")["status"] == "PENDING"
    assert outcomes(deployment) == []


def test_succeeded_event_settles_pending_capture(deployment, secret):
    request_capture()

    status, receipt = post(event(), secret)

    messages = outcomes(deployment)
    assert status == 200
    assert receipt == {"eventId": "evt_o1_payment.succeeded", "orderId": "o1", "paymentStatus": "CAPTURED", "duplicate": False}
    assert messages == [PaymentCaptured(order_id="o1", payment_id=payment_id_for("o1"), amount=AMOUNT)]
    assert get_payment("o1")["webhookEventId"] == "evt_o1_payment.succeeded"


def test_failed_event_declines_pending_capture(deployment, secret):
    request_capture()

    status, receipt = post(event(type_="payment.failed", reason="card_expired"), secret)

    assert status == 200
    assert receipt["paymentStatus"] == "DECLINED"
    assert outcomes(deployment) == [PaymentDeclined(order_id="o1", reason="card_expired")]
    assert get_payment("o1")["declineReason"] == "card_expired"


def test_failed_event_without_reason_gets_default(deployment, secret):
    request_capture()

    post(event(type_="payment.failed"), secret)

    assert outcomes(deployment) == [PaymentDeclined(order_id="o1", reason="payment_failed")]


def test_repeated_event_is_duplicate(deployment, secret):
    request_capture()
    post(event(), secret)
    settled = get_payment("o1")

    status, receipt = post(event(), secret)

    assert status == 200
    assert receipt["duplicate"] is True
    assert receipt["paymentStatus"] == "CAPTURED"
    assert get_payment("o1") == settled
    assert len(outcomes(deployment)) == 1


def test_event_after_synchronous_capture_is_duplicate(deployment, secret):
    request_capture(token="tok_success")

    status, receipt = post(event(), secret)

    assert status == 200
    assert receipt["duplicate"] is True
    assert len(outcomes(deployment)) == 1


def test_event_before_capture_request_is_kept(deployment, secret):
    status, receipt = post(event(), secret)

    assert status == 200
    assert receipt["paymentStatus"] == "NOTIFIED"
    assert receipt["duplicate"] is False
    assert get_payment("o1")["status"] == "NOTIFIED"
    assert outcomes(deployment) == []


def test_capture_request_applies_earlier_event(deployment, secret):
    post(event(), secret)

    # The token would be declined; the provider's earlier report decides instead, without a second capture.
    request_capture(token="tok_decline")

    assert outcomes(deployment) == [PaymentCaptured(order_id="o1", payment_id=payment_id_for("o1"), amount=AMOUNT)]
    assert get_payment("o1")["status"] == "CAPTURED"
    assert "notification" not in get_payment("o1")


def test_early_event_repeated_before_request_is_duplicate(deployment, secret):
    post(event(), secret)

    status, receipt = post(event(), secret)

    assert status == 200
    assert receipt == {"eventId": "evt_o1_payment.succeeded", "orderId": "o1", "paymentStatus": "NOTIFIED", "duplicate": True}


def test_redelivered_capture_request_reports_once(deployment, secret):
    post(event(), secret)

    request_capture()
    request_capture()

    assert len(outcomes(deployment)) == 1


@pytest.mark.parametrize(
    "amount",
    [{"amount": 2499, "currency": "USD"}, {"amount": 2500, "currency": "BRL"}],
    ids=["other-amount", "other-currency"],
)
def test_amount_mismatch_changes_nothing(deployment, secret, amount):
    request_capture()
    pending = get_payment("o1")

    status, document = post(event(amount=amount), secret)

    assert status == 409
    assert document["error"]["code"] == "PAYMENT_AMOUNT_MISMATCH"
    assert get_payment("o1") == pending
    assert outcomes(deployment) == []


def test_amount_mismatch_after_settlement_is_rejected(deployment, secret):
    request_capture(token="tok_success")

    status, document = post(event(amount={"amount": 1, "currency": "USD"}), secret)

    assert status == 409
    assert document["error"]["code"] == "PAYMENT_AMOUNT_MISMATCH"


def test_early_event_with_other_amount_blocks_capture(deployment, secret):
    post(event(amount={"amount": 9999, "currency": "USD"}), secret)

    with pytest.raises(BatchProcessingError):
        request_capture()

    assert get_payment("o1")["status"] == "NOTIFIED"
    assert outcomes(deployment) == []


def test_contradicting_event_is_conflict(deployment, secret):
    request_capture(token="tok_decline")

    status, document = post(event(), secret)

    assert status == 409
    assert document["error"]["code"] == "PAYMENT_CONFLICT"
    assert get_payment("o1")["status"] == "DECLINED"
    assert len(outcomes(deployment)) == 1


def test_event_for_other_payment_is_conflict(deployment, secret):
    request_capture()

    status, document = post(event(paymentId="pay_other"), secret)

    assert status == 409
    assert document["error"]["code"] == "PAYMENT_CONFLICT"
    assert get_payment("o1")["status"] == "PENDING"


@pytest.mark.parametrize("token", ["tok_success", "tok_async"])
def test_concurrent_event_and_capture_report_once(deployment, secret, token):
    orders = [f"race-{token}-{index}" for index in range(8)]
    answers = {}

    for order_id in orders:
        start = threading.Barrier(2)

        def capture(order_id=order_id, start=start):
            start.wait()
            request_capture(order_id, token=token)

        def notify(order_id=order_id, start=start):
            start.wait()
            answers[order_id] = post(event(order_id), secret)

        threads = [threading.Thread(target=capture), threading.Thread(target=notify)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    messages = outcomes(deployment)
    for order_id in orders:
        assert answers[order_id][0] == 200, answers[order_id]
        assert [message.order_id for message in messages].count(order_id) == 1
        assert get_payment(order_id)["status"] == "CAPTURED"
    assert all(isinstance(message, PaymentCaptured) for message in messages)


def test_unsigned_event_is_rejected(deployment):
    status, document = post(event(), None)

    assert status == 401
    assert document["error"]["code"] == "SIGNATURE_MISSING"
    assert get_payment("o1") is None


def test_signature_is_checked_before_body(deployment):
    status, document = post({"unexpected": True}, None)

    assert status == 401
    assert document["error"]["code"] == "SIGNATURE_MISSING"


@pytest.mark.parametrize(
    ("signing", "code"),
    [
        ({"header": "t=abc,v1=zz"}, "SIGNATURE_MALFORMED"),
        ({"secret": "not-the-secret"}, "SIGNATURE_INVALID"),
        ({"offset": -310}, "SIGNATURE_EXPIRED"),
        ({"offset": 310}, "SIGNATURE_EXPIRED"),
    ],
    ids=["malformed", "wrong-secret", "stale", "future"],
)
def test_bad_signature_is_rejected(deployment, secret, signing, code):
    arguments = {"secret": secret} | signing
    if "offset" in arguments:
        arguments["timestamp"] = int(time.time()) + arguments.pop("offset")

    status, document = post(event(), arguments.pop("secret"), **arguments)

    assert status == 401
    assert document["error"]["code"] == code
    assert get_payment("o1") is None


def test_carrier_secret_does_not_sign_payments(deployment):
    status, document = post(event(), secret_of(deployment, "CarrierWebhookSecret"))

    assert status == 401
    assert document["error"]["code"] == "SIGNATURE_INVALID"


def test_tolerance_is_a_setting(deployment, secret, monkeypatch):
    monkeypatch.setenv("WEBHOOK_TOLERANCE_SECONDS", "30")

    status, document = post(event(), secret, timestamp=int(time.time()) - 60)

    assert status == 401
    assert document["error"]["code"] == "SIGNATURE_EXPIRED"


def test_rotated_secret_accepts_both_signatures_meanwhile(deployment, secret, monkeypatch):
    # Read the secret on every call, so the rotation shows at once instead of after the cache's 300 s.
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "0")
    new_secret = "rotated-" + secret[:20]
    request_capture("o1")
    request_capture("o2")

    before = post(event("o1"), [secret, new_secret])
    rotate(deployment, "PaymentWebhookSecret", new_secret)
    after = post(event("o2"), [secret, new_secret])
    old_only = post(event("o2"), secret)

    assert before[0] == 200
    assert after[0] == 200
    assert old_only[0] == 401
    assert old_only[1]["error"]["code"] == "SIGNATURE_INVALID"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"paymentId": None}, "MISSING_FIELD", "paymentId"),
        ({"type": "payment.refunded"}, "INVALID_FIELD", "type"),
        ({"amount": {"amount": 25.0, "currency": "USD"}}, "INVALID_FIELD", "amount.amount"),
        ({"amount": {"amount": 2500, "currency": "usd"}}, "INVALID_FIELD", "amount.currency"),
        ({"orderId": "bad id"}, "INVALID_FIELD", "orderId"),
        ({"occurredAt": 1764583200}, "INVALID_FIELD", "occurredAt"),
        ({"occurredAt": "2026-12-01T10:00:00"}, "INVALID_FIELD", "occurredAt"),
        ({"reason": ""}, "INVALID_FIELD", "reason"),
        ({"extra": 1}, "UNEXPECTED_FIELD", "extra"),
    ],
)
def test_invalid_event_names_field(deployment, secret, change, code, field):
    body = {key: value for key, value in (event() | change).items() if value is not None}

    status, document = post(body, secret)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"]["field"] == field
    assert get_payment("o1") is None
