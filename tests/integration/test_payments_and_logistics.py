"""Payments and logistics functions against moto."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from functions.logistics.create_shipment import app as create_shipment
from functions.logistics.get_shipment import app as get_shipment
from functions.logistics.record_shipment_event import app as record_shipment_event
from functions.payments.capture_payment import app as capture_payment
from shared.messages import CapturePayment, CreateShipment, Line, PaymentCaptured, PaymentDeclined, ShipmentCreated, ShipmentProgressed
from shared.money import Money
from shared.payments.table import get_payment
from tests.integration.helpers import call, deliver, receive_all
from tests.integration.signing import secret_of, signed_call

AMOUNT = Money(amount=2500, currency="USD")
EVENTS = "/shipments/{shipmentId}/events"


@pytest.mark.parametrize(
    ("token", "outcome"),
    [
        ("tok_success", PaymentCaptured),
        ("tok_decline", PaymentDeclined),
        ("tok_insufficient_funds", PaymentDeclined),
        ("tok_unknown", PaymentDeclined),
    ],
)
def test_capture_reports_outcome(deployment, token, outcome):
    deliver(capture_payment.capture_payment, CapturePayment(order_id="o1", amount=AMOUNT, token=token))

    messages = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    assert len(messages) == 1
    assert isinstance(messages[0], outcome)


def test_repeated_capture_charges_once(deployment):
    command = CapturePayment(order_id="o1", amount=AMOUNT, token="tok_success")

    deliver(capture_payment.capture_payment, command)
    first = get_payment("o1")
    deliver(capture_payment.capture_payment, command)

    messages = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    assert get_payment("o1") == first
    assert len(messages) == 1
    assert messages[0].payment_id == first["paymentId"]


def test_provider_failure_leaves_message_for_retry(deployment):
    failing = CapturePayment(order_id="o1", amount=AMOUNT, token="tok_provider_error")
    passing = CapturePayment(order_id="o2", amount=AMOUNT, token="tok_success")

    response = deliver(capture_payment.capture_payment, failing, passing)

    assert len(response["batchItemFailures"]) == 1
    assert get_payment("o1") is None
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)[0].order_id == "o2"


def test_provider_failure_writes_nothing(deployment):
    with pytest.raises(BatchProcessingError):
        deliver(capture_payment.capture_payment, CapturePayment(order_id="o1", amount=AMOUNT, token="tok_provider_error"))

    assert get_payment("o1") is None
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == []


def record(deployment, path: str, body: dict) -> tuple[int, dict]:
    """POST a carrier event signed with the carrier's secret."""
    return signed_call(record_shipment_event.app, EVENTS, path, body, secret_of(deployment, "CarrierWebhookSecret"))


def _create(deployment, order_id: str = "o1") -> str:
    deliver(create_shipment.create_shipment, CreateShipment(order_id=order_id, lines=(Line(sku="mug", quantity=1),), customer_id="c1"))
    created = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    return next(message.shipment_id for message in created if isinstance(message, ShipmentCreated))


def test_repeated_create_makes_one_shipment(deployment):
    command = CreateShipment(order_id="o1", lines=(Line(sku="mug", quantity=1),))

    deliver(create_shipment.create_shipment, command)
    deliver(create_shipment.create_shipment, command)

    created = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    assert len(created) == 1
    assert created[0].shipment_id.startswith("shp_")


def test_shipment_events_build_tracking_history(deployment):
    shipment_id = _create(deployment)

    picked = record(deployment, f"/shipments/{shipment_id}/events", {"type": "PICKED_UP", "at": "2026-01-01T10:00:00Z"})
    delivered = record(deployment, f"/shipments/{shipment_id}/events", {"type": "DELIVERED", "at": "2026-01-03T10:00:00Z"})
    status, shipment = call(get_shipment.app, "GET", "/shipments/{shipmentId}", f"/shipments/{shipment_id}")

    assert picked[0] == 200
    assert delivered[0] == 200
    assert status == 200
    assert shipment["status"] == "DELIVERED"
    assert [entry["status"] for entry in shipment["history"]] == ["CREATED", "PICKED_UP", "DELIVERED"]
    progressed = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    assert [message.status for message in progressed if isinstance(message, ShipmentProgressed)] == ["PICKED_UP", "DELIVERED"]


def test_repeated_shipment_event_sends_once(deployment):
    shipment_id = _create(deployment)
    body = {"type": "PICKED_UP", "at": "2026-01-01T10:00:00Z"}

    first = record(deployment, f"/shipments/{shipment_id}/events", body)
    second = record(deployment, f"/shipments/{shipment_id}/events", body)

    assert first == second
    assert len(receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)) == 1


def test_shipment_cannot_go_back(deployment):
    shipment_id = _create(deployment)
    record(deployment, f"/shipments/{shipment_id}/events", {"type": "DELIVERED", "at": "2026-01-03T10:00:00Z"})

    status, document = record(deployment, f"/shipments/{shipment_id}/events", {"type": "PICKED_UP", "at": "2026-01-04T10:00:00Z"})

    assert status == 409
    assert document["error"]["code"] == "INVALID_SHIPMENT_TRANSITION"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"type": "LOST", "at": "2026-01-01T10:00:00Z"}, "INVALID_FIELD", "type"),
        ({"type": "PICKED_UP", "at": "2026-01-01T10:00:00"}, "INVALID_FIELD", "at"),
        ({"type": "PICKED_UP"}, "MISSING_FIELD", "at"),
        ({"type": "PICKED_UP", "at": 1700000000}, "INVALID_FIELD", "at"),
    ],
)
def test_shipment_event_rejects_bad_body(deployment, body, code, field):
    shipment_id = _create(deployment)

    status, document = record(deployment, f"/shipments/{shipment_id}/events", body)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"]["field"] == field


def test_event_for_unknown_shipment_is_not_found(deployment):
    status, document = record(deployment, "/shipments/shp_x/events", {"type": "PICKED_UP", "at": "2026-01-01T10:00:00Z"})

    assert status == 404
    assert document["error"]["code"] == "SHIPMENT_NOT_FOUND"
