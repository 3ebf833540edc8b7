"""The checkout saga over HTTP against the local runtime started as `make run` starts it."""

from __future__ import annotations

import re
import time

import boto3
import pytest
import requests

from tests.e2e.saga import FINAL, add_product, place, product, ship, wait_for

def test_order_reaches_delivered(runtime):
    sku = add_product(runtime, stock=5)
    order_id = place(runtime, sku, 2)

    paid = wait_for(runtime, order_id, lambda order: order["status"] == "PAID" and "shipmentId" in order)
    shipment_id = paid["shipmentId"]
    picked_up = ship(runtime, shipment_id, "PICKED_UP", "2026-12-01T10:00:00Z")
    shipped = wait_for(runtime, order_id, lambda order: order["status"] == "SHIPPED")
    delivered = ship(runtime, shipment_id, "DELIVERED", "2026-12-03T16:30:00Z")
    final = wait_for(runtime, order_id, lambda order: order["status"] == "DELIVERED")
    runtime.wait_idle()

    assert picked_up.status_code == 200
    assert shipped["shipmentId"] == shipment_id
    assert delivered.status_code == 200
    assert final["total"] == {"amount": 2500, "currency": "USD"}
    assert final["lines"][0]["unitPrice"] == {"amount": 1250, "currency": "USD"}
    assert product(runtime, sku)["stock"] == 3
    assert product(runtime, sku)["sold"] == 2
    tracking = runtime.get(f"/shipments/{shipment_id}", token=runtime.token(admin=True)).json()
    assert [entry["status"] for entry in tracking["history"]] == ["CREATED", "PICKED_UP", "DELIVERED"]


def test_order_without_stock_is_rejected(runtime):
    sku = add_product(runtime, stock=1)

    order = wait_for(runtime, place(runtime, sku, 2), lambda order: order["status"] in FINAL)
    runtime.wait_idle()

    assert order["status"] == "REJECTED"
    assert product(runtime, sku)["stock"] == 1
    assert product(runtime, sku)["reserved"] == 0


def test_declined_payment_releases_stock(runtime):
    sku = add_product(runtime, stock=5)

    order = wait_for(runtime, place(runtime, sku, 2, token="tok_decline"), lambda order: order["status"] in FINAL)
    runtime.wait_idle()

    assert order["status"] == "PAYMENT_FAILED"
    assert order["paymentFailure"] == "card_declined"
    assert product(runtime, sku)["stock"] == 5
    assert product(runtime, sku)["reserved"] == 0


def _order_count(runtime) -> int:
    endpoint = runtime.stats()["endpointUrl"]
    dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=endpoint)
    table = next(name for name in dynamodb.list_tables()["TableNames"] if name.endswith("-OrdersTable"))
    return dynamodb.scan(TableName=table, Select="COUNT")["Count"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/orders", b"{not json", 400, "INVALID_JSON"),
        ("POST", "/orders", {"customerId": "c1", "lines": [{"sku": "missing-sku", "quantity": 1}], "payment": {"token": "tok_success"}}, 400, "UNKNOWN_SKU"),
        ("POST", "/orders", {"customerId": "c1", "lines": [{"sku": "missing-sku", "quantity": 0}], "payment": {"token": "tok_success"}}, 400, "INVALID_FIELD"),
        ("POST", "/orders", {"customerId": "c1", "payment": {"token": "tok_success"}}, 400, "MISSING_FIELD"),
        ("POST", "/orders/search", {}, 404, "ROUTE_NOT_FOUND"),
        ("DELETE", "/orders/ord_1", None, 404, "ROUTE_NOT_FOUND"),
        ("GET", "/orders/ord_unknown", None, 404, "ORDER_NOT_FOUND"),
        ("GET", "/shipments/shp_unknown", None, 404, "SHIPMENT_NOT_FOUND"),
    ],
)
def test_bad_request_gets_json_error_and_writes_nothing(runtime, method, path, body, status, code):
    before = _order_count(runtime)
    data = body if isinstance(body, bytes) else None
    json_body = None if isinstance(body, bytes) else body
    # An admin may call every route, so each row meets the validation it names, not a role check.
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {runtime.token(admin=True)}"}

    response = requests.request(method, runtime.url + path, data=data, json=json_body, headers=headers, timeout=30)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert _order_count(runtime) == before


def test_failing_payment_provider_dead_letters_message(runtime):
    sku = add_product(runtime, stock=5)

    order_id = place(runtime, sku, 1, token="tok_provider_error")
    deadline = time.monotonic() + 40
    while runtime.stats()["queues"]["CapturePaymentDeadLetterQueue"]["Visible"] == 0:
        assert time.monotonic() < deadline, "message never reached the dead-letter queue"
        time.sleep(0.5)

    assert runtime.get(f"/orders/{order_id}", token=runtime.token(customer="c1")).json()["status"] == "RESERVED"
    assert runtime.stats()["invocations"]["CapturePaymentFunction"]["errors"] >= 5


def test_each_invocation_logs_one_line(runtime):
    sku = add_product(runtime, stock=1)

    runtime.get(f"/products/{sku}")

    lines = [line for line in runtime.log().splitlines() if "function=GetProductFunction" in line]
    assert lines
    assert all(re.search(r"invoke function=\w+ duration_ms=[\d.]+ outcome=\w+", line) for line in lines)
