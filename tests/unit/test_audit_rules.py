"""Audit rules on in-memory tables: a refunded return is consistent."""

from __future__ import annotations

from infra.ops.rules import sold_mismatch


def tables(order_status: str) -> tuple[list[dict], list[dict], list[dict]]:
    products = [{"pk": "PRODUCT#mug", "stock": 3, "reserved": 0, "sold": 2}]
    reservations = [{"pk": "RESERVATION#o1", "orderId": "o1", "status": "COMMITTED", "units": {"mug": 2}}]
    orders = [{"orderId": "o1", "status": order_status}]
    return products, reservations, orders


def test_refunded_return_keeps_its_sale():
    assert sold_mismatch(*tables("REFUNDED")) == []


def test_delivered_order_keeps_its_sale():
    assert sold_mismatch(*tables("DELIVERED")) == []


def test_committed_stock_of_unshipped_order_is_a_violation():
    violations = sold_mismatch(*tables("PAID"))

    assert [violation.code for violation in violations] == ["SOLD_MISMATCH"]
