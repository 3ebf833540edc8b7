"""Consistency rules across the orders, inventory and payments tables, as pure functions over plain items.

Each rule takes lists of items as `shared.aws.from_item` returns them and
returns the violations it finds, so tests can feed it data without any
table. The rules assume an idle system: while queues still hold messages, an
order and its reservation or payment can disagree for a moment, and a rule
that compares them reports that moment as a violation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

PRODUCT_PREFIX = "PRODUCT#"
RESERVATION_PREFIX = "RESERVATION#"

PAID_STATES = frozenset({"PAID", "SHIPPED", "DELIVERED"})
SHIPPED_STATES = frozenset({"SHIPPED", "DELIVERED"})
# Orders whose stock left with a shipment: shipped, delivered, or refunded after that.
SOLD_STATES = SHIPPED_STATES | {"REFUNDED"}
FAILED_STATES = frozenset({"REJECTED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"})
ABANDONED_STATES = frozenset({"CANCELLED", "EXPIRED"})
AWAITING_PAYMENT_STATES = frozenset({"PENDING", "RESERVED"})

DEFAULT_GRACE = timedelta(seconds=120)


@dataclass(frozen=True)
class Violation:
    """One broken rule: its code, the ids of the items involved, and what is wrong."""

    code: str
    ids: dict[str, str]
    message: str

    def line(self) -> str:
        ids = " ".join(f"{key}={value}" for key, value in self.ids.items())
        return f"{self.code} {ids} {self.message}"

    def to_json(self) -> dict:
        return {"code": self.code, "ids": self.ids, "message": self.message}


@dataclass
class Dataset:
    """The items the rules read: orders, products, reservations and payments."""

    orders: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    reservations: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)

    @classmethod
    def from_tables(cls, orders: list[dict], inventory: list[dict], payments: list[dict]) -> Dataset:
        """Split the inventory table's items into products and reservations by their key prefix."""
        products = [item for item in inventory if item["pk"].startswith(PRODUCT_PREFIX)]
        reservations = [item for item in inventory if item["pk"].startswith(RESERVATION_PREFIX)]
        return cls(orders=orders, products=products, reservations=reservations, payments=payments)


@dataclass(frozen=True)
class MoneyTotals:
    """Per currency, in minor units: money kept from payments, and the totals of orders that stay paid."""

    captured_net: int
    paid_orders: int


def check_all(data: Dataset, now: datetime, grace: timedelta = DEFAULT_GRACE) -> list[Violation]:
    """Run every rule and return all violations, grouped by rule."""
    return [
        *negative_stock(data.products),
        *over_reserved(data.products, data.reservations),
        *sold_mismatch(data.products, data.reservations, data.orders),
        *reservation_leak(data.orders, data.reservations),
        *paid_without_capture(data.orders, data.payments),
        *money_mismatch(data.orders, data.payments),
        *unrefunded_capture(data.orders, data.payments),
        *overdue(data.orders, now, grace),
        *unsettled_payment(data.orders, data.payments, now, grace),
    ]


def negative_stock(products: list[dict]) -> list[Violation]:
    violations = []
    for product in products:
        negative = {name: product.get(name, 0) for name in ("stock", "reserved", "sold") if product.get(name, 0) < 0}
        if negative:
            counts = ", ".join(f"{name}={value}" for name, value in negative.items())
            violations.append(Violation("NEGATIVE_STOCK", {"sku": _sku(product)}, f"negative unit counts: {counts}"))
    return violations


def over_reserved(products: list[dict], reservations: list[dict]) -> list[Violation]:
    """Compare each product's `reserved` with the units that RESERVED reservations hold of it."""
    reserved_units, holders = _units_by_sku(reservations, "RESERVED")
    violations = []
    for product in products:
        sku = _sku(product)
        reserved = product.get("reserved", 0)
        if reserved != reserved_units.get(sku, 0):
            orders = ", ".join(holders.get(sku, [])) or "none"
            message = f"reserved is {reserved} but RESERVED reservations contain {reserved_units.get(sku, 0)} (orders: {orders})"
            violations.append(Violation("OVER_RESERVED", {"sku": sku}, message))
    return violations


def sold_mismatch(products: list[dict], reservations: list[dict], orders: list[dict]) -> list[Violation]:
    """Check `sold` against COMMITTED reservations, and that exactly the shipped orders have one."""
    committed, holders = _units_by_sku(reservations, "COMMITTED")
    violations = []
    for product in products:
        sku = _sku(product)
        sold = product.get("sold", 0)
        if sold != committed.get(sku, 0):
            orders_text = ", ".join(holders.get(sku, [])) or "none"
            message = f"sold is {sold} but COMMITTED reservations contain {committed.get(sku, 0)} (orders: {orders_text})"
            violations.append(Violation("SOLD_MISMATCH", {"sku": sku}, message))

    reservation_by_order = {_order_id_of_reservation(reservation): reservation for reservation in reservations}
    for order in orders:
        if order["status"] not in SOLD_STATES:
            continue
        reservation = reservation_by_order.get(order["orderId"])
        reservation_status = reservation["status"] if reservation else "missing"
        if reservation_status != "COMMITTED":
            message = f"order is {order['status']} but its reservation is {reservation_status}, not COMMITTED"
            violations.append(Violation("SOLD_MISMATCH", {"orderId": order["orderId"]}, message))

    status_by_order = {order["orderId"]: order["status"] for order in orders}
    for reservation in reservations:
        if reservation.get("status") != "COMMITTED":
            continue
        order_id = _order_id_of_reservation(reservation)
        order_status = status_by_order.get(order_id, "missing")
        # A CANCELLED order never shipped, because cancelling is allowed only up to PAID.
        if order_status not in SOLD_STATES:
            message = f"reservation is COMMITTED but the order is {order_status}, not SHIPPED, DELIVERED or REFUNDED"
            violations.append(Violation("SOLD_MISMATCH", {"orderId": order_id}, message))
    return violations


def reservation_leak(orders: list[dict], reservations: list[dict]) -> list[Violation]:
    """Find orders that ended in failure while their reservation is still RESERVED."""
    status_by_reservation = {_order_id_of_reservation(reservation): reservation.get("status") for reservation in reservations}
    violations = []
    for order in orders:
        if order["status"] in FAILED_STATES and status_by_reservation.get(order["orderId"]) == "RESERVED":
            message = f"order is {order['status']} but its reservation is still RESERVED"
            violations.append(Violation("RESERVATION_LEAK", {"orderId": order["orderId"]}, message))
    return violations


def paid_without_capture(orders: list[dict], payments: list[dict]) -> list[Violation]:
    """Find paid orders whose payment is missing, not CAPTURED, or of another amount than the order total."""
    payment_by_order = {payment["orderId"]: payment for payment in payments}
    violations = []
    for order in orders:
        if order["status"] not in PAID_STATES:
            continue
        ids = {"orderId": order["orderId"]}
        payment = payment_by_order.get(order["orderId"])
        if payment is None:
            violations.append(Violation("PAID_WITHOUT_CAPTURE", ids, f"order is {order['status']} but has no payment"))
            continue
        ids["paymentId"] = str(payment.get("paymentId", "none"))
        if payment.get("status") != "CAPTURED":
            message = f"order is {order['status']} but its payment is {payment.get('status')}, not CAPTURED"
            violations.append(Violation("PAID_WITHOUT_CAPTURE", ids, message))
        elif _money(payment.get("amount")) != _money(order.get("total")):
            message = f"payment amount {_format(payment.get('amount'))} differs from order total {_format(order.get('total'))}"
            violations.append(Violation("PAID_WITHOUT_CAPTURE", ids, message))
    return violations


def money_totals(orders: list[dict], payments: list[dict]) -> dict[str, MoneyTotals]:
    """Sum, per currency, captured money net of refunds and the totals of orders in PAID, SHIPPED or DELIVERED.

    DECLINED payments move no money and are left out.
    """
    captured: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    for payment in payments:
        amount, currency = _money(payment.get("amount"))
        if payment.get("status") == "CAPTURED":
            captured[currency] += amount
        elif payment.get("status") == "REFUNDED":
            refunded, _ = _money(payment.get("refundedAmount"), default_currency=currency)
            captured[currency] += amount - refunded
    for order in orders:
        if order["status"] in PAID_STATES:
            amount, currency = _money(order.get("total"))
            paid[currency] += amount
    currencies = sorted(set(captured) | set(paid))
    return {currency: MoneyTotals(captured_net=captured[currency], paid_orders=paid[currency]) for currency in currencies}


def money_mismatch(orders: list[dict], payments: list[dict]) -> list[Violation]:
    violations = []
    for currency, totals in money_totals(orders, payments).items():
        if totals.captured_net != totals.paid_orders:
            message = f"captured minus refunded is {totals.captured_net} but paid orders total {totals.paid_orders} (minor units)"
            violations.append(Violation("MONEY_MISMATCH", {"currency": currency}, message))
    return violations


def unrefunded_capture(orders: list[dict], payments: list[dict]) -> list[Violation]:
    """Find CAPTURED payments of orders that were cancelled or expired, which should have been refunded."""
    status_by_order = {order["orderId"]: order["status"] for order in orders}
    violations = []
    for payment in payments:
        order_status = status_by_order.get(payment["orderId"])
        if payment.get("status") == "CAPTURED" and order_status in ABANDONED_STATES:
            ids = {"orderId": payment["orderId"], "paymentId": str(payment.get("paymentId", "none"))}
            message = f"payment of {_format(payment.get('amount'))} is CAPTURED but the order is {order_status}"
            violations.append(Violation("UNREFUNDED_CAPTURE", ids, message))
    return violations


def overdue(orders: list[dict], now: datetime, grace: timedelta = DEFAULT_GRACE) -> list[Violation]:
    """Find orders still waiting for payment more than `grace` after their paymentDeadline."""
    violations = []
    for order in orders:
        if order["status"] not in AWAITING_PAYMENT_STATES or not order.get("paymentDeadline"):
            continue
        late = now - _utc_time(order["paymentDeadline"])
        if late > grace:
            message = f"order is still {order['status']} {int(late.total_seconds())} s after its paymentDeadline {order['paymentDeadline']}"
            violations.append(Violation("OVERDUE", {"orderId": order["orderId"]}, message))
    return violations


def unsettled_payment(orders: list[dict], payments: list[dict], now: datetime, grace: timedelta = DEFAULT_GRACE) -> list[Violation]:
    """Find payments still NOTIFIED or PENDING more than `grace` after they were created, for an order that no longer waits for payment.

    NOTIFIED is a provider report that arrived before the capture was
    requested, and PENDING a capture the provider has not reported yet. Either
    is settled while the order waits for payment, so one that outlives the
    order (expired, cancelled, rejected or missing) needs an operator to
    reconcile it with the provider, and may hold captured money.
    """
    status_by_order = {order["orderId"]: order["status"] for order in orders}
    violations = []
    for payment in payments:
        if payment.get("status") not in ("NOTIFIED", "PENDING") or not payment.get("createdAt"):
            continue
        order_status = status_by_order.get(payment["orderId"], "missing")
        if order_status in AWAITING_PAYMENT_STATES:
            continue
        age = now - _utc_time(payment["createdAt"])
        if age > grace:
            message = f"payment is still {payment['status']} {int(age.total_seconds())} s after it was recorded, and the order is {order_status}"
            violations.append(Violation("UNSETTLED_PAYMENT", {"orderId": payment["orderId"]}, message))
    return violations


def _utc_time(text: str) -> datetime:
    """Parse an ISO 8601 time, taking one without a zone as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _sku(product: dict) -> str:
    return product["pk"].removeprefix(PRODUCT_PREFIX)


def _order_id_of_reservation(reservation: dict) -> str:
    return reservation.get("orderId") or reservation["pk"].removeprefix(RESERVATION_PREFIX)


def _units_by_sku(reservations: list[dict], status: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Sum the units of reservations in `status` per SKU, and list the orders that hold each SKU."""
    units: dict[str, int] = defaultdict(int)
    holders: dict[str, list[str]] = defaultdict(list)
    for reservation in reservations:
        if reservation.get("status") != status:
            continue
        for sku, quantity in (reservation.get("units") or {}).items():
            units[sku] += quantity
            holders[sku].append(_order_id_of_reservation(reservation))
    return units, holders


def _money(value: object, default_currency: str = "?") -> tuple[int, str]:
    """Return (minor units, currency) of a stored amount. A bare integer gets `default_currency`."""
    if isinstance(value, dict):
        return value.get("amount", 0), value.get("currency", default_currency)
    if isinstance(value, int):
        return value, default_currency
    return 0, default_currency


def _format(value: object) -> str:
    amount, currency = _money(value)
    return f"{amount} {currency}"
