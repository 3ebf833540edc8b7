"""Orders functions against moto: placing, reading and advancing orders."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from functions.orders.advance_order import app as advance_order
from functions.orders.get_order import app as get_order
from functions.orders.place_order import app as place_order
from functions.orders.sync_catalog import app as sync_catalog
from shared.messages import (
    CapturePayment,
    CommitStock,
    CreateShipment,
    PaymentCaptured,
    PaymentDeclined,
    ProductPriced,
    ReleaseStock,
    ShipmentCreated,
    ShipmentProgressed,
    StockRejected,
    StockReserved,
)
from shared.money import Money
from shared.orders import table
from tests.integration.helpers import call, deliver, queue_depth, receive_all

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def priced(sku: str, amount: int, currency: str = "USD", at: datetime = NOW) -> ProductPriced:
    return ProductPriced(sku=sku, name=sku, category="kitchen", price=Money(amount=amount, currency=currency), updated_at=at)


def order_body(*lines: tuple[str, int], token: str = "tok_success") -> dict:
    return {"customerId": "c1", "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines], "payment": {"token": token}}


def place(body) -> tuple[int, dict]:
    return call(place_order.app, "POST", "/orders", "/orders", body)


@pytest.fixture
def catalog(deployment):
    deliver(sync_catalog.sync_catalog, priced("mug", 1250), priced("cup", 499), priced("yen", 300, currency="JPY"))
    return deployment


def test_place_order_prices_lines_from_catalog(catalog):
    status, accepted = place(order_body(("mug", 2), ("cup", 1)))

    order = table.get_order(accepted["orderId"])
    assert status == 202
    assert accepted["status"] == "PENDING"
    assert [line["unitPrice"]["amount"] for line in order["lines"]] == [1250, 499]
    assert order["total"] == {"amount": 2999, "currency": "USD"}
    assert len(receive_all(catalog.queue_urls["ReserveStockQueue"], catalog)) == 1


def test_newer_catalog_price_wins_over_late_one(catalog):
    deliver(sync_catalog.sync_catalog, priced("mug", 1400, at=NOW.replace(year=2027)), priced("mug", 1100, at=NOW.replace(year=2025)))

    assert table.get_prices(["mug"])["mug"].amount == 1400


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (order_body(("nope", 1)), "UNKNOWN_SKU", "lines.0.sku"),
        (order_body(("mug", 0)), "INVALID_FIELD", "lines.0.quantity"),
        (order_body(("mug", -2)), "INVALID_FIELD", "lines.0.quantity"),
        (order_body(("mug", 1001)), "INVALID_FIELD", "lines.0.quantity"),
        (order_body(("mug", 1), ("yen", 1)), "CURRENCY_MISMATCH", "lines.1.sku"),
        (order_body(), "INVALID_FIELD", "lines"),
        ({"payment": {"token": "tok_success"}}, "MISSING_FIELD", "lines"),
        ({**order_body(("mug", 1)), "customerId": 7}, "INVALID_FIELD", "customerId"),
        ({**order_body(("mug", 1)), "payment": {}}, "MISSING_FIELD", "payment.token"),
        ({**order_body(("mug", 1)), "coupon": "x"}, "UNEXPECTED_FIELD", "coupon"),
        (order_body(("bad sku!", 1)), "INVALID_FIELD", "lines.0.sku"),
        ([1, 2], "INVALID_BODY", None),
    ],
)
def test_place_order_rejects_bad_input_and_writes_nothing(catalog, body, code, field):
    status, document = place(body)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"].get("field") == field
    assert queue_depth(catalog.queue_urls["ReserveStockQueue"]) == 0
    assert _order_count(catalog) == 0


@pytest.mark.parametrize(("raw", "code"), [(b"{not json", "INVALID_JSON"), (b"", "MISSING_BODY"), (b"\xff\xfe", "INVALID_JSON")])
def test_place_order_rejects_unreadable_body(catalog, raw, code):
    status, document = call(place_order.app, "POST", "/orders", "/orders", raw_body=raw)

    assert status == 400
    assert document["error"]["code"] == code
    assert _order_count(catalog) == 0


def _order_count(deployment) -> int:
    import boto3

    return boto3.session.Session().client("dynamodb").scan(TableName=deployment.table_names["OrdersTable"], Select="COUNT")["Count"]


def test_get_order_hides_payment_token(catalog):
    _, accepted = place(order_body(("mug", 1)))

    status, order = call(get_order.app, "GET", "/orders/{orderId}", f"/orders/{accepted['orderId']}")

    assert status == 200
    assert order["status"] == "PENDING"
    assert "paymentToken" not in order


def test_get_unknown_order_is_not_found(catalog):
    status, document = call(get_order.app, "GET", "/orders/{orderId}", "/orders/ord_missing")

    assert status == 404
    assert document["error"]["code"] == "ORDER_NOT_FOUND"


def test_order_advances_to_delivered(catalog):
    _, accepted = place(order_body(("mug", 2)))
    order_id = accepted["orderId"]
    queues = catalog.queue_urls

    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    capture = receive_all(queues["CapturePaymentQueue"], catalog)
    deliver(advance_order.advance_order, PaymentCaptured(order_id=order_id, payment_id="pay_1", amount=Money(amount=2500, currency="USD")))
    shipment = receive_all(queues["CreateShipmentQueue"], catalog)
    deliver(advance_order.advance_order, ShipmentCreated(order_id=order_id, shipment_id="shp_1"))
    deliver(advance_order.advance_order, ShipmentProgressed(order_id=order_id, shipment_id="shp_1", status="PICKED_UP", at=NOW))
    picked_up = table.get_order(order_id)["status"]
    deliver(advance_order.advance_order, ShipmentProgressed(order_id=order_id, shipment_id="shp_1", status="DELIVERED", at=NOW))

    order = table.get_order(order_id)
    assert capture == [CapturePayment(order_id=order_id, amount=Money(amount=2500, currency="USD"), token="tok_success")]
    assert isinstance(shipment[0], CreateShipment)
    assert picked_up == "SHIPPED"
    assert order["status"] == "DELIVERED"
    assert order["shipmentId"] == "shp_1"
    assert order["paymentId"] == "pay_1"
    assert receive_all(queues["CommitStockQueue"], catalog) == [CommitStock(order_id=order_id)] * 2


def test_stock_rejection_ends_rejected(catalog):
    _, accepted = place(order_body(("mug", 2)))

    deliver(advance_order.advance_order, StockRejected(order_id=accepted["orderId"], skus=("mug",)))

    order = table.get_order(accepted["orderId"])
    assert order["status"] == "REJECTED"
    assert order["rejectedSkus"] == ["mug"]


def test_declined_payment_releases_stock(catalog):
    _, accepted = place(order_body(("mug", 2), token="tok_decline"))
    order_id = accepted["orderId"]

    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    deliver(advance_order.advance_order, PaymentDeclined(order_id=order_id, reason="card_declined"))

    assert table.get_order(order_id)["status"] == "PAYMENT_FAILED"
    assert receive_all(catalog.queue_urls["ReleaseStockQueue"], catalog) == [ReleaseStock(order_id=order_id)]


def test_late_event_does_not_move_order_back(catalog):
    _, accepted = place(order_body(("mug", 1)))
    order_id = accepted["orderId"]
    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    deliver(advance_order.advance_order, PaymentCaptured(order_id=order_id, payment_id="p", amount=Money(amount=1250, currency="USD")))

    deliver(advance_order.advance_order, StockRejected(order_id=order_id, skus=("mug",)))
    deliver(advance_order.advance_order, PaymentDeclined(order_id=order_id, reason="card_declined"))

    assert table.get_order(order_id)["status"] == "PAID"
    assert receive_all(catalog.queue_urls["ReleaseStockQueue"], catalog) == []


def test_event_for_unknown_order_is_retried(catalog):
    _, accepted = place(order_body(("mug", 1)))

    response = deliver(advance_order.advance_order, StockReserved(order_id="ord_unknown"), StockReserved(order_id=accepted["orderId"]))

    assert len(response["batchItemFailures"]) == 1
    assert table.get_order(accepted["orderId"])["status"] == "RESERVED"


def test_batch_that_fails_whole_raises(catalog):
    with pytest.raises(BatchProcessingError):
        deliver(advance_order.advance_order, StockReserved(order_id="ord_unknown"))


def test_capture_after_expiry_is_refunded(catalog):
    from functions.orders.expire_orders import app as expire_orders
    from functions.payments.capture_payment import app as capture_payment
    from functions.payments.refund_payment import app as refund_payment
    from shared.payments.table import get_payment
    from tests.events import FakeContext, scheduled_event

    _, accepted = place(order_body(("mug", 2)))
    order_id = accepted["orderId"]
    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    capture = receive_all(catalog.queue_urls["CapturePaymentQueue"], catalog)
    table.set_fields(order_id, {"paymentDeadline": "2000-01-01T00:00:00+00:00"})

    expired = expire_orders.expire_orders(scheduled_event(), FakeContext())
    deliver(capture_payment.capture_payment, *capture)
    captured = receive_all(catalog.queue_urls["OrderEventsQueue"], catalog)
    deliver(advance_order.advance_order, *captured)
    refund = receive_all(catalog.queue_urls["RefundPaymentQueue"], catalog)
    deliver(refund_payment.refund_payment, *refund)
    refunded = receive_all(catalog.queue_urls["OrderEventsQueue"], catalog)
    deliver(advance_order.advance_order, *refunded)

    order = table.get_order(order_id)
    assert expired == {"expired": 1}
    assert order["status"] == "EXPIRED"
    assert [type(message).__name__ for message in captured] == ["PaymentCaptured"]
    assert get_payment(order_id)["status"] == "REFUNDED"
    assert order["refund"]["amount"] == {"amount": 2500, "currency": "USD"}
    assert receive_all(catalog.queue_urls["ReleaseStockQueue"], catalog) == [ReleaseStock(order_id=order_id)]


def test_expiry_leaves_paid_orders_alone(catalog):
    from functions.orders.expire_orders import app as expire_orders
    from tests.events import FakeContext, scheduled_event

    _, accepted = place(order_body(("mug", 1)))
    order_id = accepted["orderId"]
    deliver(advance_order.advance_order, StockReserved(order_id=order_id))
    deliver(advance_order.advance_order, PaymentCaptured(order_id=order_id, payment_id="p", amount=Money(amount=1250, currency="USD")))
    table.set_fields(order_id, {"paymentDeadline": "2000-01-01T00:00:00+00:00"})

    expired = expire_orders.expire_orders(scheduled_event(), FakeContext())

    assert expired == {"expired": 0}
    assert table.get_order(order_id)["status"] == "PAID"
