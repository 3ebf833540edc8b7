"""The HTTP operations against moto: who may call what, pagination, stock movements, search, refunds, validation."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from functions.inventory.adjust_stock import app as adjust_stock
from functions.inventory.list_products import app as list_products
from functions.inventory.list_stock_movements import app as list_stock_movements
from functions.inventory.put_product import app as put_product
from functions.orders.cancel_order import app as cancel_order
from functions.orders.get_order import app as get_order
from functions.orders.list_orders import app as list_orders
from functions.orders.place_order import app as place_order
from functions.orders.refund_order import app as refund_order
from functions.orders.search_orders import app as search_orders
from functions.orders.sync_catalog import app as sync_catalog
from shared.http import MAX_BODY_BYTES
from shared.messages import ProductPriced, RefundPayment
from shared.money import Money
from shared.orders import table as orders
from shared.orders.model import OrderStatus
from tests.events import claims
from tests.integration.helpers import ADMIN, CUSTOMER, call, deliver, product_body, receive_all

OTHER = claims("c2", "customer")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def catalog(deployment):
    deliver(sync_catalog.sync_catalog, ProductPriced(sku="mug", name="Mug", category="kitchen", price=Money(amount=1250, currency="USD"), updated_at=NOW))
    return deployment


def place(caller=CUSTOMER, **extra) -> str:
    body = {"lines": [{"sku": "mug", "quantity": 1}], "payment": {"token": "tok_success"}, **extra}
    status, document = call(place_order.app, "POST", "/orders", "/orders", body, caller=caller)
    assert status == 202, document
    return document["orderId"]


def page(app, resource, path, caller=CUSTOMER, query=""):
    return call(app, "GET", resource, path, caller=caller, query=query)


# --- who may call what ---


def test_missing_claims_get_401(catalog):
    status, document = call(get_order.app, "GET", "/orders/{orderId}", "/orders/ord_x", caller=None)

    assert status == 401
    assert document["error"]["code"] == "UNAUTHORIZED"


def test_expired_claims_get_401(catalog):
    status, document = call(list_orders.app, "GET", "/orders", "/orders", caller=claims("c1", "customer", expires_in=-5))

    assert status == 401
    assert document["error"]["code"] == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    ("app", "method", "resource", "path", "body"),
    [
        (put_product.app, "PUT", "/products/{sku}", "/products/mug", product_body(1)),
        (adjust_stock.app, "POST", "/products/{sku}/stock-adjustments", "/products/mug/stock-adjustments", {"action": "add", "quantity": 1, "reason": "count"}),
        (list_stock_movements.app, "GET", "/products/{sku}/stock-movements", "/products/mug/stock-movements", None),
        (search_orders.app, "GET", "/admin/orders", "/admin/orders", None),
        (refund_order.app, "POST", "/orders/{orderId}/refund", "/orders/ord_x/refund", None),
    ],
)
def test_customer_on_admin_route_gets_403(catalog, app, method, resource, path, body):
    status, document = call(app, method, resource, path, body, caller=CUSTOMER, query="status=PAID" if "admin" in path else "")

    assert status == 403
    assert document["error"]["code"] == "FORBIDDEN"


def test_other_customers_order_is_not_found(catalog):
    order_id = place()

    read_status, read = call(get_order.app, "GET", "/orders/{orderId}", f"/orders/{order_id}", caller=OTHER)
    cancel_status, cancelled = call(cancel_order.app, "POST", "/orders/{orderId}/cancel", f"/orders/{order_id}/cancel", caller=OTHER)

    assert (read_status, read["error"]["code"]) == (404, "ORDER_NOT_FOUND")
    assert (cancel_status, cancelled["error"]["code"]) == (404, "ORDER_NOT_FOUND")
    assert orders.get_order(order_id)["status"] == "PENDING"
    assert orders.get_order(order_id)["version"] == 1


def test_admin_reads_any_order(catalog):
    order_id = place()

    status, order = call(get_order.app, "GET", "/orders/{orderId}", f"/orders/{order_id}", caller=ADMIN)

    assert status == 200
    assert order["customerId"] == "c1"
    assert "paymentToken" not in order


def test_customer_id_of_someone_else_is_forbidden(catalog):
    status, document = call(place_order.app, "POST", "/orders", "/orders", {"customerId": "c2", "lines": [{"sku": "mug", "quantity": 1}], "payment": {"token": "t"}})

    assert status == 403
    assert document["error"] == {"code": "CUSTOMER_MISMATCH", "message": document["error"]["message"], "field": "customerId"}


def test_admin_places_order_for_a_customer(catalog):
    order_id = place(caller=ADMIN, customerId="c9")

    assert orders.get_order(order_id)["customerId"] == "c9"


# --- pagination ---


def test_own_orders_newest_first_in_pages(catalog):
    placed = [place() for _ in range(3)]
    place(caller=OTHER)

    status, first = page(list_orders.app, "/orders", "/orders", query="limit=2")
    _, second = page(list_orders.app, "/orders", "/orders", query=f"limit=2&cursor={first['nextCursor']}")

    assert status == 200
    assert [order["orderId"] for order in first["items"]] == placed[::-1][:2]
    assert [order["orderId"] for order in second["items"]] == placed[:1]
    assert "nextCursor" not in second


def test_cursor_cannot_reach_another_customer(catalog):
    place(caller=OTHER)
    place(caller=OTHER)
    _, other_page = page(list_orders.app, "/orders", "/orders", caller=OTHER, query="limit=1")

    status, document = page(list_orders.app, "/orders", "/orders", query=f"cursor={other_page['nextCursor']}")

    assert status == 400
    assert document["error"]["code"] == "INVALID_CURSOR"
    assert document["error"]["field"] == "cursor"


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("limit=0", "INVALID_FIELD", "limit"),
        ("limit=101", "INVALID_FIELD", "limit"),
        ("limit=ten", "INVALID_FIELD", "limit"),
        ("cursor=!!", "INVALID_FIELD", "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"[1]").decode(), "INVALID_CURSOR", "cursor"),
        ("sort=asc", "UNEXPECTED_FIELD", "sort"),
    ],
)
def test_bad_page_parameters_get_400(catalog, query, code, field):
    status, document = page(list_orders.app, "/orders", "/orders", query=query)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"]["field"] == field


def test_products_by_category_in_pages(deployment):
    for sku in ("a1", "a2", "a3"):
        call(put_product.app, "PUT", "/products/{sku}", f"/products/{sku}", product_body(5), caller=ADMIN)
    call(put_product.app, "PUT", "/products/{sku}", "/products/b1", {**product_body(5), "category": "garden"}, caller=ADMIN)

    status, first = page(list_products.app, "/products", "/products", caller=None, query="category=kitchen&limit=2")
    _, second = page(list_products.app, "/products", "/products", caller=None, query=f"category=kitchen&limit=2&cursor={first['nextCursor']}")
    missing_status, missing = page(list_products.app, "/products", "/products", caller=None)

    assert status == 200
    assert [product["sku"] for product in first["items"] + second["items"]] == ["a1", "a2", "a3"]
    assert first["items"][0]["price"] == {"amount": 1250, "currency": "USD"}
    assert (missing_status, missing["error"]["field"]) == (400, "category")


# --- stock adjustments ---


def adjust(action: str, quantity: int, reason: str = "cycle count"):
    return call(adjust_stock.app, "POST", "/products/{sku}/stock-adjustments", "/products/mug/stock-adjustments", {"action": action, "quantity": quantity, "reason": reason}, caller=ADMIN)


def test_stock_adjustments_are_kept_as_movements(deployment):
    call(put_product.app, "PUT", "/products/{sku}", "/products/mug", product_body(10), caller=ADMIN)

    results = [adjust("add", 5, "delivery"), adjust("remove", 3, "damaged"), adjust("set", 20, "stocktake")]
    status, movements = page(list_stock_movements.app, "/products/{sku}/stock-movements", "/products/mug/stock-movements", caller=ADMIN)

    assert [status for status, _ in results] == [201, 201, 201]
    assert [document["product"]["stock"] for _, document in results] == [15, 12, 20]
    assert status == 200
    assert [(m["action"], m["quantity"], m["stockBefore"], m["stockAfter"], m["reason"]) for m in movements["items"]] == [
        ("set", 20, 12, 20, "stocktake"),
        ("remove", 3, 15, 12, "damaged"),
        ("add", 5, 10, 15, "delivery"),
    ]
    assert {m["actor"] for m in movements["items"]} == {"staff"}


def test_removing_more_than_stock_changes_nothing(deployment):
    call(put_product.app, "PUT", "/products/{sku}", "/products/mug", product_body(2), caller=ADMIN)

    status, document = adjust("remove", 3)
    _, movements = page(list_stock_movements.app, "/products/{sku}/stock-movements", "/products/mug/stock-movements", caller=ADMIN)

    assert status == 409
    assert document["error"]["code"] == "INSUFFICIENT_STOCK"
    assert movements["items"] == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"action": "add", "quantity": -1, "reason": "x"}, "INVALID_FIELD", "quantity"),
        ({"action": "add", "quantity": 10**10, "reason": "x"}, "INVALID_FIELD", "quantity"),
        ({"action": "grow", "quantity": 1, "reason": "x"}, "INVALID_FIELD", "action"),
        ({"action": "add", "quantity": 1}, "MISSING_FIELD", "reason"),
        ({"action": "add", "quantity": "1", "reason": "x"}, "INVALID_FIELD", "quantity"),
    ],
)
def test_bad_adjustment_gets_400(deployment, body, code, field):
    call(put_product.app, "PUT", "/products/{sku}", "/products/mug", product_body(2), caller=ADMIN)

    status, document = call(adjust_stock.app, "POST", "/products/{sku}/stock-adjustments", "/products/mug/stock-adjustments", body, caller=ADMIN)

    assert status == 400
    assert (document["error"]["code"], document["error"]["field"]) == (code, field)


def test_adjusting_unknown_product_is_not_found(deployment):
    status, document = adjust("add", 1)

    assert (status, document["error"]["code"]) == (404, "PRODUCT_NOT_FOUND")


# --- staff search and refunds ---


def test_search_orders_by_status_and_date(catalog):
    first, second = place(), place(caller=OTHER)
    orders.move_order(second, OrderStatus.REJECTED)
    created = datetime.fromisoformat(orders.get_order(first)["createdAt"])

    _, pending = page(search_orders.app, "/admin/orders", "/admin/orders", caller=ADMIN, query="status=PENDING")
    _, rejected = page(search_orders.app, "/admin/orders", "/admin/orders", caller=ADMIN, query="status=REJECTED")
    later = (created + timedelta(seconds=1)).isoformat().replace("+", "%2B")
    _, none_later = page(search_orders.app, "/admin/orders", "/admin/orders", caller=ADMIN, query=f"status=PENDING&createdFrom={later}")

    assert [order["orderId"] for order in pending["items"]] == [first]
    assert [order["orderId"] for order in rejected["items"]] == [second]
    assert none_later["items"] == []


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("", "MISSING_FIELD", "status"),
        ("status=LOST", "INVALID_FIELD", "status"),
        ("status=PAID&createdFrom=2026-01-01T00:00:00", "INVALID_FIELD", "createdFrom"),
        ("status=PAID&createdFrom=2026-02-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z", "INVALID_DATE_RANGE", "createdFrom"),
    ],
)
def test_bad_search_gets_400(catalog, query, code, field):
    status, document = page(search_orders.app, "/admin/orders", "/admin/orders", caller=ADMIN, query=query)

    assert status == 400
    assert (document["error"]["code"], document["error"]["field"]) == (code, field)


def test_refund_of_delivered_order(catalog):
    order_id = place()
    receive_all(catalog.queue_urls["ReserveStockQueue"], catalog)
    for state in (OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        assert orders.move_order(order_id, state)

    status, order = call(refund_order.app, "POST", "/orders/{orderId}/refund", f"/orders/{order_id}/refund", caller=ADMIN)
    again_status, again = call(refund_order.app, "POST", "/orders/{orderId}/refund", f"/orders/{order_id}/refund", caller=ADMIN)
    sent = receive_all(catalog.queue_urls["RefundPaymentQueue"], catalog)

    assert (status, order["status"]) == (200, "REFUNDED")
    assert (again_status, again["status"]) == (200, "REFUNDED")
    assert sent == [RefundPayment(order_id=order_id)]


def test_refund_of_unshipped_order_is_a_conflict(catalog):
    order_id = place()

    status, document = call(refund_order.app, "POST", "/orders/{orderId}/refund", f"/orders/{order_id}/refund", caller=ADMIN)

    assert (status, document["error"]["code"]) == (409, "ORDER_NOT_REFUNDABLE")
    assert orders.get_order(order_id)["status"] == "PENDING"


# --- bodies ---


def test_oversized_body_gets_413(catalog):
    raw = json.dumps({"lines": [{"sku": "mug", "quantity": 1}], "payment": {"token": "x" * MAX_BODY_BYTES}}).encode()

    status, document = call(place_order.app, "POST", "/orders", "/orders", raw_body=raw)

    assert (status, document["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_non_json_body_gets_415(catalog):
    status, document = call(place_order.app, "POST", "/orders", "/orders", raw_body=b"lines=1", content_type="text/plain")

    assert (status, document["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_too_many_lines_get_400(catalog):
    body = {"lines": [{"sku": "mug", "quantity": 1}] * 51, "payment": {"token": "t"}}

    status, document = call(place_order.app, "POST", "/orders", "/orders", body)

    assert (status, document["error"]["field"]) == (400, "lines")
