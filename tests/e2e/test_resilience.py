"""The saga under races, repeats, cancellations, expiry and injected faults, over HTTP."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import start_runtime
from tests.e2e.saga import FINAL, add_product, place, product, settled, ship, wait_for

QUEUE_AND_STREAM_FUNCTIONS = [
    "ReserveStockFunction",
    "AdvanceOrderFunction",
    "CapturePaymentFunction",
    "CreateShipmentFunction",
    "CommitStockFunction",
    "ReleaseStockFunction",
    "SyncCatalogFunction",
    "PublishOrderEventsFunction",
    "PublishInventoryEventsFunction",
    "PublishPaymentEventsFunction",
    "PublishShipmentEventsFunction",
]


def order_body(sku: str, quantity: int = 1, token: str = "tok_success") -> dict:
    return {"customerId": "c1", "lines": [{"sku": sku, "quantity": quantity}], "payment": {"token": token}}


def deliver(runtime, order_id: str) -> dict:
    paid = wait_for(runtime, order_id, settled, timeout=60)
    assert ship(runtime, paid["shipmentId"], "PICKED_UP").status_code == 200
    assert ship(runtime, paid["shipmentId"], "DELIVERED", "2026-12-02T10:00:00Z").status_code == 200
    return wait_for(runtime, order_id, lambda order: order["status"] == "DELIVERED", timeout=60)


def test_two_hundred_orders_race_for_five_units(runtime):
    sku = add_product(runtime, stock=5)

    with ThreadPoolExecutor(max_workers=20) as pool:
        order_ids = list(pool.map(lambda _: place(runtime, sku, 1), range(200)))
    outcomes = [wait_for(runtime, order_id, settled, timeout=120)["status"] for order_id in order_ids]
    runtime.wait_idle(timeout=120)

    assert outcomes.count("PAID") == 5
    assert outcomes.count("REJECTED") == 195
    assert product(runtime, sku)["stock"] == 0
    assert product(runtime, sku)["reserved"] == 5


def test_idempotency_key_replays_first_response(runtime):
    sku = add_product(runtime, stock=5)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    first = runtime.post("/orders", order_body(sku), headers=key, token=runtime.token(customer="c1"))
    # The same JSON with other spacing and key order is the same request.
    reformatted = json.dumps(dict(reversed(list(order_body(sku).items()))), indent=2)
    authorization = {"Authorization": f"Bearer {runtime.token(customer='c1')}"}
    second = requests.post(runtime.url + "/orders", data=reformatted, headers={**key, **authorization, "Content-Type": "application/json"}, timeout=30)
    reused = runtime.post("/orders", order_body(sku, quantity=2), headers=key, token=runtime.token(customer="c1"))
    runtime.wait_idle()

    assert first.status_code == 202
    assert second.status_code == 202
    assert second.json() == first.json()
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert product(runtime, sku)["stock"] == 4


def test_invalid_idempotency_key_is_rejected(runtime):
    sku = add_product(runtime, stock=5)

    response = runtime.post("/orders", order_body(sku), headers={"Idempotency-Key": "has spaces"}, token=runtime.token(customer="c1"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"


def test_cancel_paid_order_releases_refunds_and_stops_shipment(runtime):
    sku = add_product(runtime, stock=5)
    order_id = place(runtime, sku, 2)
    paid = wait_for(runtime, order_id, settled)

    cancelled = runtime.post(f"/orders/{order_id}/cancel", token=runtime.token(customer="c1"))
    again = runtime.post(f"/orders/{order_id}/cancel", token=runtime.token(customer="c1"))
    refunded = wait_for(runtime, order_id, lambda order: "refund" in order)
    runtime.wait_idle()

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    assert again.status_code == 200
    assert refunded["refund"]["amount"] == paid["total"]
    assert product(runtime, sku)["stock"] == 5
    assert product(runtime, sku)["reserved"] == 0
    assert runtime.get(f"/shipments/{paid['shipmentId']}", token=runtime.token(admin=True)).json()["status"] == "CANCELLED"
    late_scan = ship(runtime, paid["shipmentId"], "PICKED_UP")
    assert late_scan.status_code == 409
    assert late_scan.json()["error"]["code"] == "SHIPMENT_CANCELLED"


def test_cancel_after_shipment_is_refused(runtime):
    sku = add_product(runtime, stock=5)
    order_id = place(runtime, sku, 1)
    paid = wait_for(runtime, order_id, settled)
    ship(runtime, paid["shipmentId"], "PICKED_UP")
    wait_for(runtime, order_id, lambda order: order["status"] == "SHIPPED")

    response = runtime.post(f"/orders/{order_id}/cancel", token=runtime.token(customer="c1"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_ALREADY_SHIPPED"
    assert runtime.get(f"/orders/{order_id}", token=runtime.token(customer="c1")).json()["status"] == "SHIPPED"


def test_cancel_unknown_order_is_not_found(runtime):
    response = runtime.post("/orders/ord_missing/cancel", token=runtime.token(customer="c1"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_NOT_FOUND"


@pytest.fixture(scope="module")
def expiring_runtime(tmp_path_factory):
    running = start_runtime(
        tmp_path_factory.mktemp("expiring") / "runtime.log",
        {"TEMPLATE_PARAMETERS": "PaymentTimeout=2", "SCHEDULE_INTERVAL": "0.5"},
    )
    yield running
    running.stop()


def test_unpaid_order_expires_and_releases_stock(expiring_runtime):
    sku = add_product(expiring_runtime, stock=5)

    # The provider keeps failing, so the order waits for its payment past the deadline.
    order = wait_for(expiring_runtime, place(expiring_runtime, sku, 2, token="tok_provider_error"), lambda order: order["status"] in FINAL, timeout=30)
    expiring_runtime.wait_idle()

    assert order["status"] == "EXPIRED"
    assert product(expiring_runtime, sku)["stock"] == 5
    assert product(expiring_runtime, sku)["reserved"] == 0


@pytest.fixture(scope="module")
def chaotic_runtime(tmp_path_factory):
    # Every first delivery of every message crashes right after its writes,
    # is delivered twice, and a third of first deliveries come back late.
    running = start_runtime(
        tmp_path_factory.mktemp("chaos") / "runtime.log",
        {"CHAOS": "duplicate,crash,reorder", "CHAOS_CRASH_RATE": "1.0", "VISIBILITY_TIMEOUT": "1"},
    )
    yield running
    running.stop()


def test_saga_converges_under_crashes_duplicates_and_reordering(chaotic_runtime):
    runtime = chaotic_runtime
    sku = add_product(runtime, stock=10)

    delivered = [deliver(runtime, place(runtime, sku, 1)) for _ in range(3)]
    declined = wait_for(runtime, place(runtime, sku, 2, token="tok_decline"), lambda order: order["status"] in FINAL, timeout=60)
    rejected = wait_for(runtime, place(runtime, sku, 50), lambda order: order["status"] in FINAL, timeout=60)
    runtime.wait_idle(timeout=120)

    assert [order["status"] for order in delivered] == ["DELIVERED"] * 3
    assert declined["status"] == "PAYMENT_FAILED"
    assert rejected["status"] == "REJECTED"
    assert product(runtime, sku) | {"updatedAt": None} == product(runtime, sku) | {"stock": 7, "reserved": 0, "sold": 3, "updatedAt": None}


def test_crash_injected_in_every_queue_and_stream_function(chaotic_runtime):
    log = chaotic_runtime.log()

    for function in QUEUE_AND_STREAM_FUNCTIONS:
        assert re.search(rf"function={function} .*outcome=(partial|error)", log), f"{function} never crashed"
