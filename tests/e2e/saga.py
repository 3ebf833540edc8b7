"""Steps of the checkout saga over HTTP, shared by the end-to-end tests."""

from __future__ import annotations

import time
import uuid

from tests.e2e.webhooks import post_signed

FINAL = {"DELIVERED", "REJECTED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"}


def new_sku() -> str:
    return f"sku-{uuid.uuid4().hex[:12]}"


def add_product(runtime, stock: int, amount: int = 1250) -> str:
    sku = new_sku()
    body = {"name": "Mug", "category": "kitchen", "price": {"amount": amount, "currency": "USD"}, "stock": stock}
    response = runtime.put(f"/products/{sku}", body, token=runtime.token(admin=True))
    assert response.status_code == 201, response.text
    runtime.wait_idle()
    return sku


def place(runtime, sku: str, quantity: int, token: str = "tok_success", headers: dict | None = None, customer: str = "c1") -> str:
    """Place an order as `customer`, paid with the payment token `token`; returns its id."""
    body = {"customerId": customer, "lines": [{"sku": sku, "quantity": quantity}], "payment": {"token": token}}
    response = runtime.post("/orders", body, headers=headers, token=runtime.token(customer=customer))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "PENDING"
    return response.json()["orderId"]


def wait_for(runtime, order_id: str, condition, timeout: float = 30, customer: str = "c1") -> dict:
    deadline = time.monotonic() + timeout
    while True:
        order = runtime.get(f"/orders/{order_id}", token=runtime.token(customer=customer)).json()
        if condition(order):
            return order
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} stuck in {order['status']}")
        time.sleep(0.05)


def product(runtime, sku: str) -> dict:
    return runtime.get(f"/products/{sku}").json()


def settled(order: dict) -> bool:
    """True once an order is final or paid with its shipment created."""
    return order["status"] in FINAL or "shipmentId" in order


def ship(runtime, shipment_id: str, event_type: str, at: str = "2026-12-01T10:00:00Z"):
    """Post a carrier event, signed with the carrier's secret."""
    return post_signed(runtime, f"/shipments/{shipment_id}/events", {"type": event_type, "at": at}, "carrier")
