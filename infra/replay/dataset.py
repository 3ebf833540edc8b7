"""Read the Olist order sample into the products to import and the orders to replay.

The dataset is "Brazilian E-Commerce Public Dataset by Olist" (CC BY-NC-SA 4.0).
It is read from its folder and never copied into the repository.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

DOWNLOAD_URL = "https://www.kaggle.com/datasets/olistbr/brazilian-ecommerce"

ORDERS_FILE = "olist_orders_dataset.csv"
ITEMS_FILE = "olist_order_items_dataset.csv"
PRODUCTS_FILE = "olist_products_dataset.csv"
TRANSLATION_FILE = "product_category_name_translation.csv"
REQUIRED_FILES = (ORDERS_FILE, ITEMS_FILE, PRODUCTS_FILE, TRANSLATION_FILE)

# The API's limit on a product's category.
MAX_CATEGORY_LENGTH = 100

# The dataset's timestamps carry no zone. Olist sells in Brazil, so they are
# read as São Paulo time. Only the gaps between them and the `at` of shipment
# events depend on this choice.
OLIST_ZONE = ZoneInfo("America/Sao_Paulo")


class DatasetError(Exception):
    """The dataset folder is missing, incomplete or contains a value that cannot be read."""


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_centavos: int
    stock: int


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OlistOrder:
    order_id: str
    customer_id: str
    status: str  # Olist's order_status: delivered, shipped, invoiced, processing, canceled, ...
    purchased_at: datetime
    approved_at: datetime | None
    carrier_at: datetime | None  # handed over to the carrier
    delivered_at: datetime | None  # delivered to the customer
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class Dataset:
    products: list[Product]
    orders: list[OlistOrder]  # orders with lines, by purchase time
    skipped_without_lines: int


def load(folder: Path, limit: int | None = None, stock_factor: float = 1.0) -> Dataset:
    """Read the first `limit` orders by purchase time and the products their lines name.

    Each product's price is the lower median of its line prices in those
    orders, and its stock covers their total demand times `stock_factor`,
    rounded up. Raises DatasetError when the folder or a file is missing.
    """
    _check_folder(folder)
    orders = sorted(_rows(folder / ORDERS_FILE), key=lambda row: (row["order_purchase_timestamp"], row["order_id"]))
    if limit is not None:
        orders = orders[:limit]
    selected_ids = {row["order_id"] for row in orders}
    prices, lines = _read_items(folder / ITEMS_FILE, selected_ids)

    replayed = []
    for row in orders:
        order_lines = lines.get(row["order_id"])
        if order_lines:
            replayed.append(_order(row, order_lines))
    skipped = len(orders) - len(replayed)

    demand: Counter[str] = Counter()
    for order in replayed:
        for line in order.lines:
            demand[line.sku] += line.quantity
    categories = _read_categories(folder / PRODUCTS_FILE, folder / TRANSLATION_FILE, set(demand))
    factor = Decimal(str(stock_factor))
    products = [
        _product(sku, categories.get(sku, ""), prices[sku], math.ceil(demand[sku] * factor))
        for sku in sorted(demand)
    ]
    return Dataset(products=products, orders=replayed, skipped_without_lines=skipped)


def _check_folder(folder: Path) -> None:
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not missing:
        return
    where = f"folder {folder} does not exist" if not folder.is_dir() else f"{folder} lacks {', '.join(missing)}"
    raise DatasetError(
        f"Olist dataset not found: {where}. Set OLIST_DIR to the folder that contains the dataset's CSV files "
        f"(a relative path is read from the repository root), or download the dataset from {DOWNLOAD_URL}"
    )


def _rows(path: Path):
    # utf-8-sig drops the byte-order mark that starts the translation file.
    with path.open(newline="", encoding="utf-8-sig") as file:
        yield from csv.DictReader(file)


def _read_items(path: Path, order_ids: set[str]) -> tuple[dict[str, list[int]], dict[str, list[OrderLine]]]:
    """Return each product's line prices in centavos, and each order's lines with a row count as quantity."""
    prices: dict[str, list[int]] = defaultdict(list)
    units: dict[str, Counter[str]] = defaultdict(Counter)
    for row in _rows(path):
        if row["order_id"] not in order_ids:
            continue
        prices[row["product_id"]].append(_centavos(row["price"], path))
        # One row per unit: the quantity of a product is its number of rows in the order.
        units[row["order_id"]][row["product_id"]] += 1
    lines = {order_id: [OrderLine(sku, quantity) for sku, quantity in counts.items()] for order_id, counts in units.items()}
    return prices, lines


def _read_categories(products: Path, translation: Path, skus: set[str]) -> dict[str, str]:
    english = {row["product_category_name"]: row["product_category_name_english"] for row in _rows(translation)}
    categories = {}
    for row in _rows(products):
        if row["product_id"] in skus:
            portuguese = row["product_category_name"]
            categories[row["product_id"]] = english.get(portuguese) or portuguese
    return categories


def _product(sku: str, category: str, prices: list[int], stock: int) -> Product:
    category = (category or "uncategorized")[:MAX_CATEGORY_LENGTH]
    # The lower median is a price that was actually charged, never a half centavo.
    price = statistics.median_low(prices)
    return Product(sku=sku, name=f"{category.replace('_', ' ')} {sku[:8]}", category=category, price_centavos=price, stock=stock)


def _order(row: dict, lines: list[OrderLine]) -> OlistOrder:
    return OlistOrder(
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        status=row["order_status"],
        purchased_at=_timestamp(row["order_purchase_timestamp"]),
        approved_at=_timestamp(row["order_approved_at"]),
        carrier_at=_timestamp(row["order_delivered_carrier_date"]),
        delivered_at=_timestamp(row["order_delivered_customer_date"]),
        lines=tuple(lines),
    )


def _centavos(text: str, path: Path) -> int:
    """Convert a price such as "179.49" to centavos without going through a float."""
    try:
        centavos = Decimal(text) * 100
    except InvalidOperation:
        raise DatasetError(f"invalid price {text!r} in {path}: expected a decimal number such as 179.49") from None
    if centavos != centavos.to_integral_value() or centavos < 0:
        raise DatasetError(f"invalid price {text!r} in {path}: expected a non-negative amount with at most 2 decimals")
    return int(centavos)


def _timestamp(text: str) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=OLIST_ZONE)
