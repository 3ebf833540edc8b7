"""Inventory functions against moto: products, and reservations that never oversell."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.inventory.commit_stock import app as commit_stock
from functions.inventory.get_product import app as get_product
from functions.inventory.put_product import app as put_product
from functions.inventory.release_stock import app as release_stock
from functions.inventory.reserve_stock import app as reserve_stock
from shared.inventory import table
from shared.messages import CommitStock, Line, OrderPlaced, ProductPriced, ReleaseStock, StockRejected, StockReserved
from tests.integration.helpers import ADMIN, call, deliver, product_body, receive_all

PRODUCT = "/products/{sku}"


def put(sku: str, stock: int, **price) -> tuple[int, dict]:
    return call(put_product.app, "PUT", PRODUCT, f"/products/{sku}", product_body(stock, **price), caller=ADMIN)


def stock_of(sku: str) -> dict:
    product = table.get_product(sku)
    return {"stock": product["stock"], "reserved": product["reserved"], "sold": product.get("sold", 0)}


def test_put_product_creates_then_replaces(deployment):
    created_status, created = put("mug", 5)
    replaced_status, replaced = put("mug", 7, amount=1300)

    assert created_status == 201
    assert created["stock"] == 5
    assert replaced_status == 200
    assert replaced["stock"] == 7
    assert replaced["price"] == {"amount": 1300, "currency": "USD"}


def test_put_product_publishes_price(deployment):
    put("mug", 5)

    messages = receive_all(deployment.queue_urls["OrderCatalogQueue"], deployment)

    assert len(messages) == 1
    assert isinstance(messages[0], ProductPriced)
    assert messages[0].price.amount == 1250


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "Mug", "category": "k", "price": {"amount": 1, "currency": "USD"}}, "MISSING_FIELD", "stock"),
        ({"name": "Mug", "category": "k", "price": {"amount": 1, "currency": "USD"}, "stock": -1}, "INVALID_FIELD", "stock"),
        ({"name": "Mug", "category": "k", "price": {"amount": 1.5, "currency": "USD"}, "stock": 1}, "INVALID_FIELD", "price.amount"),
        ({"name": "Mug", "category": "k", "price": {"amount": 1, "currency": "usd"}, "stock": 1}, "INVALID_FIELD", "price.currency"),
        ({"name": "Mug", "category": "k", "price": {"amount": 1, "currency": "USD"}, "stock": "3"}, "INVALID_FIELD", "stock"),
        ({"name": "Mug", "category": "k", "price": {"amount": 1, "currency": "USD"}, "stock": 1, "x": 1}, "UNEXPECTED_FIELD", "x"),
    ],
)
def test_put_product_rejects_bad_body(deployment, body, code, field):
    status, document = call(put_product.app, "PUT", PRODUCT, "/products/mug", body, caller=ADMIN)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"]["field"] == field
    assert table.get_product("mug") is None
    assert receive_all(deployment.queue_urls["OrderCatalogQueue"], deployment) == []


def test_put_product_rejects_bad_json(deployment):
    status, document = call(put_product.app, "PUT", PRODUCT, "/products/mug", raw_body=b'{"name": ', caller=ADMIN)

    assert status == 400
    assert document["error"]["code"] == "INVALID_JSON"
    assert table.get_product("mug") is None


def test_put_product_rejects_other_media_type(deployment):
    status, document = call(put_product.app, "PUT", PRODUCT, "/products/mug", product_body(1), content_type="text/plain", caller=ADMIN)

    assert status == 415
    assert document["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_get_unknown_product_is_not_found(deployment):
    status, document = call(get_product.app, "GET", PRODUCT, "/products/nope")

    assert status == 404
    assert document["error"]["code"] == "PRODUCT_NOT_FOUND"


def test_reserve_takes_all_lines(deployment):
    put("mug", 5)
    put("cup", 2)

    deliver(reserve_stock.reserve_stock, OrderPlaced(order_id="o1", lines=(Line(sku="mug", quantity=3), Line(sku="cup", quantity=2))))

    assert stock_of("mug") == {"stock": 2, "reserved": 3, "sold": 0}
    assert stock_of("cup") == {"stock": 0, "reserved": 2, "sold": 0}
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == [StockReserved(order_id="o1")]


def test_reserve_takes_nothing_when_one_line_is_short(deployment):
    put("mug", 5)
    put("cup", 1)

    deliver(reserve_stock.reserve_stock, OrderPlaced(order_id="o1", lines=(Line(sku="mug", quantity=3), Line(sku="cup", quantity=2))))

    assert stock_of("mug") == {"stock": 5, "reserved": 0, "sold": 0}
    assert stock_of("cup") == {"stock": 1, "reserved": 0, "sold": 0}
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == [StockRejected(order_id="o1", skus=("cup",))]


def test_reserve_sums_lines_of_one_sku(deployment):
    put("mug", 3)

    deliver(reserve_stock.reserve_stock, OrderPlaced(order_id="o1", lines=(Line(sku="mug", quantity=2), Line(sku="mug", quantity=2))))

    assert stock_of("mug") == {"stock": 3, "reserved": 0, "sold": 0}
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == [StockRejected(order_id="o1", skus=("mug",))]


def test_reserve_repeated_message_reserves_once(deployment):
    put("mug", 5)
    placed = OrderPlaced(order_id="o1", lines=(Line(sku="mug", quantity=2),))

    deliver(reserve_stock.reserve_stock, placed)
    deliver(reserve_stock.reserve_stock, placed)

    assert stock_of("mug") == {"stock": 3, "reserved": 2, "sold": 0}
    assert receive_all(deployment.queue_urls["OrderEventsQueue"], deployment) == [StockReserved(order_id="o1")]


def test_concurrent_reservations_never_oversell(deployment):
    put("mug", 5)

    def reserve(index: int):
        return table.reserve(f"o{index}", {"mug": 1})

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(_retrying(reserve), range(40)))

    assert sum(1 for status, _ in outcomes if status == table.RESERVED) == 5
    assert stock_of("mug") == {"stock": 0, "reserved": 5, "sold": 0}


def _retrying(reserve):
    # A reservation cancelled by a conflicting transaction raises so that SQS
    # retries it; here the test retries instead.
    def attempt(index: int):
        for _ in range(50):
            try:
                return reserve(index)
            except RuntimeError:
                continue
        raise AssertionError(f"reservation o{index} kept conflicting")

    return attempt


def test_release_returns_units_once(deployment):
    put("mug", 5)
    table.reserve("o1", {"mug": 2})

    deliver(release_stock.release_stock, ReleaseStock(order_id="o1"))
    deliver(release_stock.release_stock, ReleaseStock(order_id="o1"))

    assert stock_of("mug") == {"stock": 5, "reserved": 0, "sold": 0}


def test_commit_counts_units_sold_once(deployment):
    put("mug", 5)
    table.reserve("o1", {"mug": 2})

    deliver(commit_stock.commit_stock, CommitStock(order_id="o1"))
    deliver(commit_stock.commit_stock, CommitStock(order_id="o1"))

    assert stock_of("mug") == {"stock": 3, "reserved": 0, "sold": 2}


def test_release_after_commit_changes_nothing(deployment):
    put("mug", 5)
    table.reserve("o1", {"mug": 2})

    deliver(commit_stock.commit_stock, CommitStock(order_id="o1"))
    deliver(release_stock.release_stock, ReleaseStock(order_id="o1"))

    assert stock_of("mug") == {"stock": 3, "reserved": 0, "sold": 2}


def test_malformed_message_is_reported_failed(deployment):
    put("mug", 5)

    response = deliver(reserve_stock.reserve_stock, '{"type": "OrderPlaced"}', OrderPlaced(order_id="o1", lines=(Line(sku="mug", quantity=1),)))

    assert len(response["batchItemFailures"]) == 1
    assert stock_of("mug") == {"stock": 4, "reserved": 1, "sold": 0}
