"""Signed carrier events and shipment tracking for the customer who ordered, against moto."""

from __future__ import annotations

import pytest

from functions.logistics.create_shipment import app as create_shipment
from functions.logistics.get_shipment import app as get_shipment
from functions.logistics.record_shipment_event import app as record_shipment_event
from functions.orders.advance_order import app as advance_order
from functions.orders.place_order import app as place_order
from functions.orders.sync_catalog import app as sync_catalog
from shared.logistics.table import get_shipment as stored_shipment
from shared.messages import CreateShipment, Line, PaymentCaptured, ProductPriced, ShipmentCreated, StockReserved
from shared.money import Money
from tests.events import claims
from tests.integration.helpers import ADMIN, call, deliver, receive_all
from tests.integration.signing import secret_of, signed_call

EVENTS = "/shipments/{shipmentId}/events"
SHIPMENT = "/shipments/{shipmentId}"
OWNER = claims("c1", "customer")
OTHER_CUSTOMER = claims("c2", "customer")
PICKED_UP = {"type": "PICKED_UP", "at": "2026-12-01T10:00:00Z"}


def create(deployment, customer_id: str | None = "c1", order_id: str = "o1") -> str:
    command = CreateShipment(order_id=order_id, lines=(Line(sku="mug", quantity=2),), customer_id=customer_id)
    deliver(create_shipment.create_shipment, command)
    created = receive_all(deployment.queue_urls["OrderEventsQueue"], deployment)
    return next(message.shipment_id for message in created if isinstance(message, ShipmentCreated))


def post_event(shipment_id: str, body: dict, secret: str | None) -> tuple[int, dict]:
    return signed_call(record_shipment_event.app, EVENTS, f"/shipments/{shipment_id}/events", body, secret)


def read(shipment_id: str, caller: dict | None) -> tuple[int, dict]:
    return call(get_shipment.app, "GET", SHIPMENT, f"/shipments/{shipment_id}", caller=caller)


def test_signed_carrier_event_is_recorded(deployment):
    shipment_id = create(deployment)

    status, shipment = post_event(shipment_id, PICKED_UP, secret_of(deployment, "CarrierWebhookSecret"))

    assert status == 200
    assert shipment["status"] == "PICKED_UP"
    assert "outbox" not in shipment


@pytest.mark.parametrize(
    ("secret_name", "code"),
    [(None, "SIGNATURE_MISSING"), ("PaymentWebhookSecret", "SIGNATURE_INVALID")],
    ids=["unsigned", "payment-secret"],
)
def test_carrier_event_needs_carrier_signature(deployment, secret_name, code):
    shipment_id = create(deployment)
    secret = secret_of(deployment, secret_name) if secret_name else None

    status, document = post_event(shipment_id, PICKED_UP, secret)

    assert status == 401
    assert document["error"]["code"] == code
    assert stored_shipment(shipment_id)["status"] == "CREATED"
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == []


def test_owner_reads_tracking_history(deployment):
    shipment_id = create(deployment)
    secret = secret_of(deployment, "CarrierWebhookSecret")
    post_event(shipment_id, PICKED_UP, secret)
    post_event(shipment_id, {"type": "IN_TRANSIT", "at": "2026-12-02T08:00:00Z"}, secret)
    post_event(shipment_id, {"type": "DELIVERED", "at": "2026-12-03T16:30:00+02:00"}, secret)

    status, shipment = read(shipment_id, OWNER)

    assert status == 200
    assert shipment["customerId"] == "c1"
    assert shipment["orderId"] == "o1"
    assert shipment["status"] == "DELIVERED"
    assert shipment["lines"] == [{"sku": "mug", "quantity": 2}]
    assert [entry["status"] for entry in shipment["history"]] == ["CREATED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"]
    assert shipment["history"][1]["at"] == "2026-12-01T10:00:00Z"
    assert shipment["history"][3]["at"] == "2026-12-03T16:30:00+02:00"
    assert "outbox" not in shipment


def test_admin_reads_any_shipment(deployment):
    shipment_id = create(deployment)

    status, shipment = read(shipment_id, ADMIN)

    assert status == 200
    assert shipment["shipmentId"] == shipment_id


def test_other_customer_gets_not_found(deployment):
    shipment_id = create(deployment)

    status, document = read(shipment_id, OTHER_CUSTOMER)

    assert status == 404
    assert document["error"]["code"] == "SHIPMENT_NOT_FOUND"


def test_missing_shipment_is_not_found(deployment):
    status, document = read("shp_missing", OWNER)

    assert status == 404
    assert document["error"]["code"] == "SHIPMENT_NOT_FOUND"


def test_reading_needs_token(deployment):
    shipment_id = create(deployment)

    status, document = read(shipment_id, None)

    assert status == 401
    assert document["error"]["code"] == "UNAUTHORIZED"


def test_shipment_without_customer_is_admin_only(deployment):
    shipment_id = create(deployment, customer_id=None)

    assert read(shipment_id, OWNER)[0] == 404
    assert read(shipment_id, ADMIN)[0] == 200
    assert "customerId" not in read(shipment_id, ADMIN)[1]


def test_paid_order_ships_to_its_customer(deployment):
    deliver(sync_catalog.sync_catalog, ProductPriced(sku="mug", name="Mug", category="kitchen", price=Money(amount=1250, currency="USD"), updated_at="2026-01-01T00:00:00Z"))
    body = {"lines": [{"sku": "mug", "quantity": 1}], "payment": {"token": "tok_success"}}
    _, accepted = call(place_order.app, "POST", "/orders", "/orders", body, caller=OWNER)
    order_id = accepted["orderId"]

    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    deliver(advance_order.advance_order, PaymentCaptured(order_id=order_id, payment_id="pay_1", amount=Money(amount=1250, currency="USD")))

    commands = receive_all(deployment.queue_urls["CreateShipmentQueue"], deployment)
    assert len(commands) == 1
    assert commands[0].customer_id == "c1"
