"""The Olist replay, run against a local runtime on a small dataset of the same shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import requests

from infra.local.runtime import LocalRuntime, Settings
from infra.replay.replay import run, run_audit
from infra.replay.settings import ReplaySettings

ORDER_COLUMNS = [
    "order_id",
    "customer_id",
    "order_status",
    "order_purchase_timestamp",
    "order_approved_at",
    "order_delivered_carrier_date",
    "order_delivered_customer_date",
    "order_estimated_delivery_date",
]
ITEM_COLUMNS = ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"]
PAYMENT_COLUMNS = ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"]
PRODUCT_COLUMNS = [
    "product_id",
    "product_category_name",
    "product_name_lenght",
    "product_description_lenght",
    "product_photos_qty",
    "product_weight_g",
    "product_length_cm",
    "product_height_cm",
    "product_width_cm",
]

SKU_A = "aaaa1111aaaa1111aaaa1111aaaa1111"
SKU_B = "bbbb2222bbbb2222bbbb2222bbbb2222"
SKU_C = "cccc3333cccc3333cccc3333cccc3333"

# order id, status, purchased, approved, handed to the carrier, delivered
ORDERS = [
    ("o1-delivered", "delivered", "2017-03-01 10:00:00", "2017-03-01 10:15:00", "2017-03-02 09:00:00", "2017-03-08 16:30:00"),
    ("o2-delivered-two-units", "delivered", "2017-03-02 11:00:00", "2017-03-02 11:20:00", "2017-03-03 08:00:00", "2017-03-10 12:00:00"),
    ("o3-shipped-two-products", "shipped", "2017-03-03 12:00:00", "2017-03-03 12:05:00", "2017-03-04 10:00:00", ""),
    ("o4-invoiced", "invoiced", "2017-03-04 13:00:00", "2017-03-04 13:30:00", "", ""),
    ("o5-canceled", "canceled", "2017-03-05 14:00:00", "2017-03-05 14:10:00", "", ""),
    ("o6-canceled-without-lines", "canceled", "2017-03-06 15:00:00", "", "", ""),
    ("o7-processing", "processing", "2017-03-07 16:00:00", "2017-03-07 16:45:00", "", ""),
]

# order id, product, price; two rows of one product in one order are two units
ITEMS = [
    ("o1-delivered", SKU_A, "10.00"),
    ("o2-delivered-two-units", SKU_A, "12.50"),
    ("o2-delivered-two-units", SKU_A, "12.50"),
    ("o3-shipped-two-products", SKU_B, "99.90"),
    ("o3-shipped-two-products", SKU_C, "5.05"),
    ("o4-invoiced", SKU_B, "99.90"),
    ("o5-canceled", SKU_C, "5.05"),
    ("o7-processing", SKU_A, "12.50"),
]

# Product A has a translated category, B one without a translation, C none at all.
PRODUCTS = [(SKU_A, "beleza_saude"), (SKU_B, "esporte_lazer"), (SKU_C, "")]


def write_csv(path: Path, columns: list[str], rows: list[list], encoding: str = "utf-8") -> None:
    with path.open("w", newline="", encoding=encoding) as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows(rows)


def write_dataset(folder: Path) -> None:
    folder.mkdir()
    write_csv(
        folder / "olist_orders_dataset.csv",
        ORDER_COLUMNS,
        [[order_id, f"cust-{order_id}", status, purchased, approved, carrier, delivered, "2017-04-01 00:00:00"] for order_id, status, purchased, approved, carrier, delivered in ORDERS],
    )
    item_rows = []
    for index, (order_id, sku, price) in enumerate(ITEMS):
        item_number = sum(1 for earlier_order, _, _ in ITEMS[:index] if earlier_order == order_id) + 1
        item_rows.append([order_id, item_number, sku, "seller-1", "2017-03-10 00:00:00", price, "7.50"])
    write_csv(folder / "olist_order_items_dataset.csv", ITEM_COLUMNS, item_rows)
    write_csv(folder / "olist_order_payments_dataset.csv", PAYMENT_COLUMNS, [[order_id, 1, "credit_card", 1, "10.00"] for order_id, *_ in ORDERS])
    write_csv(folder / "olist_products_dataset.csv", PRODUCT_COLUMNS, [[sku, category, 40, 300, 1, 500, 20, 10, 15] for sku, category in PRODUCTS])
    # The real translation file starts with a byte-order mark, which utf-8-sig writes.
    write_csv(folder / "product_category_name_translation.csv", ["product_category_name", "product_category_name_english"], [["beleza_saude", "health_beauty"]], encoding="utf-8-sig")


@pytest.fixture
def runtime():
    local = LocalRuntime(Settings(port=0, moto_port=0, endpoint_url=None))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.mark.slow
def test_replay_reaches_expected_states(tmp_path, runtime):
    write_dataset(tmp_path / "olist")
    settings = ReplaySettings(olist_dir=tmp_path / "olist", report=tmp_path / "reports" / "replay.json", target=runtime.url, concurrency=4, progress=False)

    report = run(settings)
    product = requests.get(f"{runtime.url}/products/{SKU_A}", timeout=10).json()
    untranslated = requests.get(f"{runtime.url}/products/{SKU_B}", timeout=10).json()
    uncategorized = requests.get(f"{runtime.url}/products/{SKU_C}", timeout=10).json()

    assert report["server_errors"] == 0
    assert report["client_errors"] == {}
    assert report["orders"] == 6
    assert report["skipped_without_lines"] == 1
    assert report["expected"]["mismatches"] == []
    assert report["expected"]["matched"] == 6
    assert report["timeouts"] == 0
    assert report["by_status"]["DELIVERED"] == 2
    assert report["by_status"]["SHIPPED"] == 1
    assert report["by_status"]["PAID"] == 2
    assert report["by_status"]["CANCELLED"] == 1
    assert report["set_aside"] == {}
    assert report["catalogue"]["imported"] == 3
    assert report["latency_ms"]["place_order"]["p50"] is not None
    assert report["latency_ms"]["order_to_delivered"]["p99"] is not None
    assert report["aws_calls_per_order"]["lambda_invocations"] > 0
    assert json.loads(settings.report.read_text()) == report
    # With a TARGET the replay leaves the audit to the caller.
    assert report["audit"] is None
    audit = run_audit(runtime.endpoint_url, tmp_path / "audit.json")
    assert audit["exit_code"] == 0
    assert audit["violations_by_code"] == {}

    # Product A sells 1 + 2 + 1 units, and a stock factor of 1 imports exactly that.
    # Units leave `stock` for `reserved` and, once shipped, for `sold`.
    assert product["stock"] + product["reserved"] + product.get("sold", 0) == 4
    assert product["stock"] == 0
    # The lower median of 10.00, 12.50, 12.50 and 12.50.
    assert product["price"] == {"amount": 1250, "currency": "BRL"}
    assert product["category"] == "health_beauty"
    assert product["name"] == "health beauty aaaa1111"
    assert untranslated["category"] == "esporte_lazer"
    assert uncategorized["category"] == "uncategorized"


@pytest.mark.slow
def test_replay_with_chaos_on_own_runtime(tmp_path, monkeypatch):
    write_dataset(tmp_path / "olist")
    monkeypatch.setenv("CHAOS", "duplicate,crash,reorder")
    monkeypatch.setenv("CHAOS_CRASH_RATE", "0.5")
    monkeypatch.delenv("SPLIT_EMULATOR", raising=False)
    settings = ReplaySettings(olist_dir=tmp_path / "olist", report=tmp_path / "reports" / "replay.json", concurrency=4, progress=False)

    report = run(settings)

    assert report["server_errors"] == 0
    assert report["expected"]["mismatches"] == []
    assert report["expected"]["matched"] == 6
    assert report["audit"]["exit_code"] == 0
    assert report["audit"]["violations_by_code"] == {}
