"""Signed webhooks over HTTP: the payment provider's events, the carrier's scans, and shipment tracking."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from infra.ops.connection import aws_client
from shared.orders.model import order_id_for
from shared.payments.provider import payment_id_for
from tests.e2e.saga import add_product, place, product, ship, wait_for
from tests.e2e.webhooks import post_signed, secret_of

WEBHOOK = "/webhooks/payments"


def payment_event(order_id: str, type_: str = "payment.succeeded", amount: int = 1250, **fields) -> dict:
    body = {
        "eventId": f"evt_{uuid.uuid4().hex[:12]}",
        "type": type_,
        "orderId": order_id,
        "paymentId": payment_id_for(order_id),
        "amount": {"amount": amount, "currency": "USD"},
        "occurredAt": "2026-12-01T10:00:00Z",
    }
    return body | fields


def report(runtime, body: dict, **signing):
    return post_signed(runtime, WEBHOOK, body, "payment", **signing)


def stored_payment(runtime, order_id: str) -> dict:
    dynamodb = aws_client("dynamodb", runtime.stats()["endpointUrl"])
    table = next(name for name in dynamodb.list_tables()["TableNames"] if name.endswith("-PaymentsTable"))
    return dynamodb.get_item(TableName=table, Key={"orderId": {"S": order_id}}, ConsistentRead=True)["Item"]


def reserved(runtime, sku: str, customer: str = "c1") -> str:
    """Place an order paid with tok_async and wait until its capture is pending."""
    order_id = place(runtime, sku, 1, token="tok_async", customer=customer)
    wait_for(runtime, order_id, lambda order: order["status"] == "RESERVED", customer=customer)
    runtime.wait_idle()
    return order_id


def test_webhook_pays_pending_order(runtime):
    sku = add_product(runtime, stock=3)
    order_id = reserved(runtime, sku)

    response = report(runtime, payment_event(order_id))
    paid = wait_for(runtime, order_id, lambda order: order["status"] == "PAID" and "shipmentId" in order)

    assert response.status_code == 200, response.text
    assert response.json()["paymentStatus"] == "CAPTURED"
    assert response.json()["duplicate"] is False
    assert paid["paymentId"] == payment_id_for(order_id)


def test_webhook_declines_pending_order(runtime):
    sku = add_product(runtime, stock=3)
    order_id = reserved(runtime, sku)

    response = report(runtime, payment_event(order_id, "payment.failed", reason="card_expired"))
    failed = wait_for(runtime, order_id, lambda order: order["status"] == "PAYMENT_FAILED")
    runtime.wait_idle()

    assert response.status_code == 200, response.text
    assert failed["paymentFailure"] == "card_expired"
    assert product(runtime, sku)["stock"] == 3


def test_repeated_webhook_changes_nothing(runtime):
    sku = add_product(runtime, stock=3)
    order_id = reserved(runtime, sku)
    event = payment_event(order_id)
    report(runtime, event)
    paid = wait_for(runtime, order_id, lambda order: order["status"] == "PAID" and "shipmentId" in order)
    runtime.wait_idle()

    again = report(runtime, event)
    runtime.wait_idle()

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert runtime.get(f"/orders/{order_id}", token=runtime.token(customer="c1")).json()["version"] == paid["version"]


def test_webhook_before_order_exists(runtime):
    sku = add_product(runtime, stock=3)
    key = f"key-{uuid.uuid4().hex}"
    order_id = order_id_for("c1", key)

    early = report(runtime, payment_event(order_id))
    # tok_decline would be declined: the provider's earlier report decides instead.
    place(runtime, sku, 1, token="tok_decline", headers={"Idempotency-Key": key})
    paid = wait_for(runtime, order_id, lambda order: order["status"] in {"PAID", "PAYMENT_FAILED"})

    assert early.status_code == 200, early.text
    assert early.json()["paymentStatus"] == "NOTIFIED"
    assert paid["status"] == "PAID"


def test_webhook_racing_capture_pays_once(runtime):
    sku = add_product(runtime, stock=3)
    order_id = place(runtime, sku, 1, token="tok_success")
    answers = []
    done = threading.Event()

    def keep_reporting():
        # The same event again and again while the saga captures the payment itself.
        event = payment_event(order_id)
        while not done.is_set():
            answers.append(report(runtime, event).status_code)

    threads = [threading.Thread(target=keep_reporting) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        paid = wait_for(runtime, order_id, lambda order: order["status"] not in {"PENDING", "RESERVED"} and "shipmentId" in order)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    runtime.wait_idle()

    assert paid["status"] == "PAID"
    assert answers
    assert set(answers) == {200}
    assert stored_payment(runtime, order_id)["status"]["S"] == "CAPTURED"
    assert product(runtime, sku)["reserved"] == 1


def test_amount_mismatch_is_rejected(runtime):
    sku = add_product(runtime, stock=3)
    order_id = reserved(runtime, sku)

    response = report(runtime, payment_event(order_id, amount=999))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "PAYMENT_AMOUNT_MISMATCH"
    assert stored_payment(runtime, order_id)["status"]["S"] == "PENDING"


@pytest.mark.parametrize(
    ("signing", "code"),
    [
        ({"header": ""}, "SIGNATURE_MISSING"),
        ({"header": "v1=abc"}, "SIGNATURE_MALFORMED"),
        ({"secret": "not-the-secret"}, "SIGNATURE_INVALID"),
        ({"offset": -400}, "SIGNATURE_EXPIRED"),
    ],
    ids=["missing", "malformed", "wrong-secret", "stale"],
)
def test_bad_signature_is_unauthorized(runtime, signing, code):
    order_id = f"ord_{uuid.uuid4().hex}"
    if "offset" in signing:
        signing = {"timestamp": int(time.time()) + signing["offset"]}

    response = report(runtime, payment_event(order_id), **signing)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


def test_sender_mid_rotation_is_accepted(runtime):
    order_id = f"ord_{uuid.uuid4().hex}"
    secrets = ["the-previous-secret", secret_of(runtime, "payment")]

    response = report(runtime, payment_event(order_id), secret=secrets)

    assert response.status_code == 200, response.text


def test_invalid_event_names_field(runtime):
    body = payment_event(f"ord_{uuid.uuid4().hex}", amount=12.5)

    response = report(runtime, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_FIELD"
    assert response.json()["error"]["field"] == "amount.amount"


def test_carrier_events_need_carrier_signature(runtime):
    sku = add_product(runtime, stock=3)
    order_id = place(runtime, sku, 1)
    shipment_id = wait_for(runtime, order_id, lambda order: "shipmentId" in order)["shipmentId"]
    path = f"/shipments/{shipment_id}/events"
    body = {"type": "PICKED_UP", "at": "2026-12-01T10:00:00Z"}

    unsigned = runtime.post(path, body)
    payment_signed = post_signed(runtime, path, body, "payment")
    carrier_signed = ship(runtime, shipment_id, "PICKED_UP")

    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "SIGNATURE_MISSING"
    assert payment_signed.status_code == 401
    assert payment_signed.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert carrier_signed.status_code == 200, carrier_signed.text


def test_shipment_is_tracked_by_its_customer_only(runtime):
    customer = f"c-{uuid.uuid4().hex[:8]}"
    sku = add_product(runtime, stock=3)
    order_id = place(runtime, sku, 1, customer=customer)
    shipment_id = wait_for(runtime, order_id, lambda order: "shipmentId" in order, customer=customer)["shipmentId"]
    ship(runtime, shipment_id, "PICKED_UP", "2026-12-01T10:00:00Z")
    ship(runtime, shipment_id, "IN_TRANSIT", "2026-12-02T10:00:00Z")
    path = f"/shipments/{shipment_id}"

    owner = runtime.get(path, token=runtime.token(customer=customer))
    admin = runtime.get(path, token=runtime.token(admin=True))
    other = runtime.get(path, token=runtime.token(customer="someone-else"))
    anonymous = runtime.get(path)

    assert owner.status_code == 200
    assert [entry["status"] for entry in owner.json()["history"]] == ["CREATED", "PICKED_UP", "IN_TRANSIT"]
    assert owner.json()["customerId"] == customer
    assert admin.status_code == 200
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "SHIPMENT_NOT_FOUND"
    assert anonymous.status_code == 401
