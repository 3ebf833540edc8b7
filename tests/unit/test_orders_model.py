"""Order rules: pricing lines, totals and the order state machine."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import InvalidRequest
from shared.money import Money
from shared.orders.model import FINAL_STATES, PREVIOUS_STATES, LineRequest, OrderStatus, PlaceOrderRequest, new_order, order_id_for, price_lines

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
PRICES = {"mug": Money(amount=1250, currency="USD"), "cup": Money(amount=499, currency="USD"), "yen": Money(amount=300, currency="JPY")}


def request(*lines: tuple[str, int]) -> PlaceOrderRequest:
    return PlaceOrderRequest.model_validate(
        {"customerId": "c1", "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines], "payment": {"token": "tok_success"}}
    )


def test_order_id_repeats_for_same_idempotency_key():
    assert order_id_for("c1", "key-1") == order_id_for("c1", "key-1")
    assert order_id_for("c1", "key-1") != order_id_for("c2", "key-1")
    assert order_id_for("c1", None) != order_id_for("c1", None)


def test_new_order_totals_lines():
    placed = request(("mug", 2), ("cup", 3))

    order = new_order(placed, "c1", price_lines(placed.lines, PRICES), timedelta(minutes=15), now=NOW)

    assert order["status"] == "PENDING"
    assert order["paymentDeadline"] == "2026-01-01T00:15:00+00:00"
    assert order["total"] == {"amount": 2 * 1250 + 3 * 499, "currency": "USD"}
    assert [line["lineTotal"]["amount"] for line in order["lines"]] == [2500, 1497]


def test_unknown_sku_names_its_line():
    with pytest.raises(InvalidRequest) as raised:
        price_lines([LineRequest(sku="mug", quantity=1), LineRequest(sku="nope", quantity=1)], PRICES)

    assert raised.value.code == "UNKNOWN_SKU"
    assert raised.value.field == "lines.1.sku"


def test_second_currency_is_rejected():
    with pytest.raises(InvalidRequest) as raised:
        price_lines([LineRequest(sku="mug", quantity=1), LineRequest(sku="yen", quantity=1)], PRICES)

    assert raised.value.code == "CURRENCY_MISMATCH"


@pytest.mark.parametrize(
    ("target", "allowed_from"),
    [
        (OrderStatus.RESERVED, {OrderStatus.PENDING}),
        (OrderStatus.REJECTED, {OrderStatus.PENDING}),
        (OrderStatus.PAID, {OrderStatus.RESERVED}),
        (OrderStatus.PAYMENT_FAILED, {OrderStatus.RESERVED}),
        (OrderStatus.SHIPPED, {OrderStatus.PAID}),
        (OrderStatus.DELIVERED, {OrderStatus.PAID, OrderStatus.SHIPPED}),
        (OrderStatus.CANCELLED, {OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.PAID}),
        (OrderStatus.REFUNDED, {OrderStatus.SHIPPED, OrderStatus.DELIVERED}),
        (OrderStatus.EXPIRED, {OrderStatus.PENDING, OrderStatus.RESERVED}),
    ],
)
def test_state_machine_moves_forward_only(target, allowed_from):
    assert PREVIOUS_STATES[target] == allowed_from


def test_final_states_lead_only_to_refund():
    for target, sources in PREVIOUS_STATES.items():
        if target is not OrderStatus.REFUNDED:
            assert not sources & FINAL_STATES, target
    assert PREVIOUS_STATES[OrderStatus.REFUNDED] & FINAL_STATES == {OrderStatus.DELIVERED}
