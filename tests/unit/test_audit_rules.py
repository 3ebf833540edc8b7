"""Audit rules on in-memory tables: refunded returns and payments left unsettled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from infra.ops.rules import sold_mismatch, unsettled_payment

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


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


def payment(status: str, minutes_ago: float) -> dict:
    created = NOW - timedelta(minutes=minutes_ago)
    return {"orderId": "o1", "status": status, "createdAt": created.isoformat(), "amount": {"amount": 100, "currency": "USD"}}


@pytest.mark.parametrize("status", ["NOTIFIED", "PENDING"])
def test_unsettled_payment_of_expired_order_is_a_violation(status):
    violations = unsettled_payment([{"orderId": "o1", "status": "EXPIRED"}], [payment(status, 10)], NOW)

    assert [violation.code for violation in violations] == ["UNSETTLED_PAYMENT"]
    assert violations[0].ids == {"orderId": "o1"}


def test_unsettled_payment_of_unknown_order_is_a_violation():
    violations = unsettled_payment([], [payment("NOTIFIED", 10)], NOW)

    assert [violation.code for violation in violations] == ["UNSETTLED_PAYMENT"]


@pytest.mark.parametrize(
    ("order_status", "payment_status", "minutes_ago"),
    [
        ("RESERVED", "PENDING", 60),  # the order still waits for the provider's report
        ("PENDING", "NOTIFIED", 60),  # the capture request is still to come
        ("EXPIRED", "PENDING", 1),  # within the grace period
        ("DELIVERED", "CAPTURED", 60),  # settled
    ],
)
def test_payment_still_settling_is_fine(order_status, payment_status, minutes_ago):
    assert unsettled_payment([{"orderId": "o1", "status": order_status}], [payment(payment_status, minutes_ago)], NOW) == []
