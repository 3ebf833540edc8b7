"""Correlated function logs, the status page and `make status`, against the runtime started as `make run` starts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests

from infra.local.runtime import ROOT
from shared.signatures import HEADER, sign
from tests.e2e.conftest import free_port
from tests.e2e.saga import add_product, place
from tests.e2e.webhooks import secret_of

CORRELATION_HEADER = "X-Correlation-Id"
# Every hop of a delivered order: the HTTP entry, each queue consumer and each table's stream publisher.
JOURNEY_FUNCTIONS = {
    "PlaceOrderFunction",
    "PublishOrderEventsFunction",
    "ReserveStockFunction",
    "PublishInventoryEventsFunction",
    "AdvanceOrderFunction",
    "CapturePaymentFunction",
    "PublishPaymentEventsFunction",
    "CreateShipmentFunction",
    "PublishShipmentEventsFunction",
    "CommitStockFunction",
}


def function_lines(runtime) -> list[dict]:
    """The JSON lines that the functions wrote, as the runtime passed them on to its log."""
    lines = []
    for line in runtime.log().splitlines():
        if " tradewind.runtime.functions {" in line:
            lines.append(json.loads(line[line.index("{"):]))
    return lines


def follow(runtime, order_id: str, correlation_id: str, condition, timeout: float = 30) -> dict:
    """Poll the order, as its client would, with the order's correlation id on every request."""
    deadline = time.monotonic() + timeout
    while True:
        response = runtime.get(f"/orders/{order_id}", token=runtime.token(customer="c1"), headers={CORRELATION_HEADER: correlation_id})
        order = response.json()
        if condition(order):
            return order
        assert time.monotonic() < deadline, f"order {order_id} stuck in {order.get('status')}"
        time.sleep(0.05)


def carrier_event(runtime, shipment_id: str, event_type: str, at: str, correlation_id: str) -> requests.Response:
    raw = json.dumps({"type": event_type, "at": at}).encode()
    headers = {"Content-Type": "application/json", HEADER: sign(secret_of(runtime, "carrier"), raw), CORRELATION_HEADER: correlation_id}
    return requests.post(f"{runtime.url}/shipments/{shipment_id}/events", data=raw, headers=headers, timeout=30)


def placed_with_correlation(runtime, sku: str) -> tuple[str, str]:
    body = {"customerId": "c1", "lines": [{"sku": sku, "quantity": 1}], "payment": {"token": "tok_success"}}
    response = runtime.post("/orders", body, token=runtime.token(customer="c1"))
    assert response.status_code == 202, response.text
    return response.json()["orderId"], response.headers[CORRELATION_HEADER]


def test_correlation_id_follows_every_hop(runtime):
    sku = add_product(runtime, stock=5)
    order_id, correlation_id = placed_with_correlation(runtime, sku)
    other_id, other_correlation_id = placed_with_correlation(runtime, sku)

    paid = follow(runtime, order_id, correlation_id, lambda order: order["status"] == "PAID" and "shipmentId" in order)
    picked_up = carrier_event(runtime, paid["shipmentId"], "PICKED_UP", "2026-12-01T10:00:00Z", correlation_id)
    follow(runtime, order_id, correlation_id, lambda order: order["status"] == "SHIPPED")
    delivered = carrier_event(runtime, paid["shipmentId"], "DELIVERED", "2026-12-03T16:30:00Z", correlation_id)
    follow(runtime, order_id, correlation_id, lambda order: order["status"] == "DELIVERED")
    follow(runtime, other_id, other_correlation_id, lambda order: "shipmentId" in order)
    runtime.wait_idle()
    lines = function_lines(runtime)

    assert (picked_up.status_code, delivered.status_code) == (200, 200)
    assert correlation_id != other_correlation_id
    about_order = [line for line in lines if line.get("order_id") == order_id]
    assert {line["correlation_id"] for line in about_order} == {correlation_id}
    assert JOURNEY_FUNCTIONS <= {line["function_name"] for line in about_order}
    about_other = [line for line in lines if line.get("order_id") == other_id]
    assert {line["correlation_id"] for line in about_other} == {other_correlation_id}
    assert all(line["function_name"] and line["function_request_id"] and line["service"] for line in about_order)


def test_client_correlation_id_is_returned_and_carried_on(runtime):
    sku = add_product(runtime, stock=5)
    body = {"customerId": "c1", "lines": [{"sku": sku, "quantity": 1}], "payment": {"token": "tok_success"}}

    response = runtime.post("/orders", body, token=runtime.token(customer="c1"), headers={CORRELATION_HEADER: "checkout-7f3a:attempt.1"})
    order_id = response.json()["orderId"]
    follow(runtime, order_id, "checkout-7f3a:attempt.1", lambda order: "shipmentId" in order)
    runtime.wait_idle()

    assert response.headers[CORRELATION_HEADER] == "checkout-7f3a:attempt.1"
    reserved = [line for line in function_lines(runtime) if line.get("order_id") == order_id and line["function_name"] == "ReserveStockFunction"]
    assert [line["correlation_id"] for line in reserved] == ["checkout-7f3a:attempt.1"]


def test_status_counts_orders_metrics_and_errors(runtime):
    sku = add_product(runtime, stock=5)
    place(runtime, sku, 1, token="tok_provider_error")

    deadline = time.monotonic() + 30
    while True:
        status = runtime.get("/_runtime/status").json()
        errors = [error for error in status["recentErrors"] if error["function"] == "CapturePaymentFunction"]
        if errors:
            break
        assert time.monotonic() < deadline, "the failed capture never reached the status page"
        time.sleep(0.2)

    assert errors[0]["type"] == "ProviderUnavailable"
    assert errors[0]["message"].startswith("payment provider failed to capture")
    assert errors[0]["orderId"].startswith("ord_")
    functions = {entry["name"]: entry for entry in status["functions"]}
    assert functions["CapturePaymentFunction"]["handlerErrors"] >= 1
    assert functions["PlaceOrderFunction"]["invocations"] >= 1
    assert status["businessMetrics"]["OrdersPlaced"] >= 1
    assert status["businessMetrics"]["StockReserved"] >= 1
    assert status["orders"].get("RESERVED", 0) >= 1
    queues = {queue["name"]: queue for queue in status["queues"]}
    assert queues["CapturePaymentQueue"]["deadLetterQueue"]
    dead_letter = {queue["name"] for queue in status["deadLetterQueues"]}
    assert queues["CapturePaymentQueue"]["deadLetterQueue"] in dead_letter
    assert not dead_letter & set(queues)


def test_status_page_is_html(runtime):
    response = runtime.get("/_runtime/")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h2>Dead-letter queues</h2>" in response.text
    assert "<td>PlaceOrderFunction</td>" in response.text
    assert "<script" not in response.text
    assert "http://" not in response.text
    assert "https://" not in response.text


def make_status(port: int) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {"PORT": str(port)}
    return subprocess.run([sys.executable, "-m", "infra.local.status"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_make_status_prints_the_running_runtime(runtime):
    result = make_status(int(runtime.url.rsplit(":", 1)[1]))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uptime ")
    for title in ("Queues", "Dead-letter queues", "Orders by status", "Functions", "Business metrics", "Recent errors"):
        assert f"\n\n{title}\n" in result.stdout
    assert "ReserveStockQueue" in result.stdout


def test_make_status_without_runtime():
    result = make_status(free_port())

    assert result.returncode == 2
    assert result.stdout == ""
    assert "no local runtime responded at http://127.0.0.1:" in result.stderr
    assert "make run" in result.stderr
