"""The consistency audit against the template's tables in moto."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from infra.local.runtime import ROOT
from infra.ops import audit
from shared.aws import to_item



def usd(amount: int) -> dict:
    return {"amount": amount, "currency": "USD"}


def brl(amount: int) -> dict:
    return {"amount": amount, "currency": "BRL"}


def order(order_id: str, status: str, total: dict, **fields) -> dict:
    deadline = (datetime.now(timezone.utc) + timedelta(minutes=15)).isoformat()
    document = {"orderId": order_id, "status": status, "total": total, "lines": [], "paymentDeadline": deadline, **fields}
    if status in ("PENDING", "RESERVED"):
        document["awaitingPayment"] = "1"
    return document


def reservation(order_id: str, status: str, units: dict) -> dict:
    return {"pk": f"RESERVATION#{order_id}", "orderId": order_id, "status": status, "units": units}


def payment(order_id: str, status: str, amount: dict, **fields) -> dict:
    return {"orderId": order_id, "paymentId": f"pay_{order_id}", "status": status, "amount": amount, **fields}


def consistent_dataset() -> dict[str, dict[str, dict]]:
    """One order in every state, with stock, reservations and payments that agree; keyed by table, then by id."""
    orders = [
        order("o-pending", "PENDING", usd(1250)),
        order("o-reserved", "RESERVED", usd(2500)),
        order("o-paid", "PAID", usd(1250), paymentId="pay_o-paid"),
        order("o-shipped", "SHIPPED", usd(1250), paymentId="pay_o-shipped", shipmentId="shp-1"),
        order("o-delivered", "DELIVERED", brl(9900), paymentId="pay_o-delivered", shipmentId="shp-2"),
        order("o-rejected", "REJECTED", usd(1250)),
        order("o-declined", "PAYMENT_FAILED", usd(1250)),
        order("o-cancelled", "CANCELLED", usd(1250), paymentId="pay_o-cancelled", refund={"paymentId": "pay_o-cancelled", "amount": usd(1250)}),
        order("o-expired", "EXPIRED", usd(1250)),
    ]
    inventory = [
        # mug: 2 held by o-reserved, 1 by o-paid, 1 sold to o-shipped.
        {"pk": "PRODUCT#mug", "sku": "mug", "stock": 6, "reserved": 3, "sold": 1, "outbox": [{"queue": "ignored"}]},
        {"pk": "PRODUCT#lamp", "sku": "lamp", "stock": 0, "reserved": 0, "sold": 1},
        reservation("o-reserved", "RESERVED", {"mug": 2}),
        reservation("o-paid", "RESERVED", {"mug": 1}),
        reservation("o-shipped", "COMMITTED", {"mug": 1}),
        reservation("o-delivered", "COMMITTED", {"lamp": 1}),
        {**reservation("o-rejected", "REJECTED", {"mug": 50}), "shortSkus": ["mug"]},
        reservation("o-declined", "RELEASED", {"mug": 1}),
        reservation("o-cancelled", "RELEASED", {"mug": 1}),
        reservation("o-expired", "RELEASED", {"mug": 1}),
    ]
    payments = [
        payment("o-paid", "CAPTURED", usd(1250)),
        payment("o-shipped", "CAPTURED", usd(1250)),
        payment("o-delivered", "CAPTURED", brl(9900)),
        payment("o-declined", "DECLINED", usd(1250), reason="card_declined"),
        payment("o-cancelled", "REFUNDED", usd(1250), refundedAmount=usd(1250), refundId="ref-1"),
    ]
    return {
        "OrdersTable": {item["orderId"]: item for item in orders},
        "InventoryTable": {item["pk"]: item for item in inventory},
        "PaymentsTable": {item["orderId"]: item for item in payments},
    }


def store(deployment, dataset: dict[str, dict[str, dict]]) -> None:
    dynamodb = boto3.session.Session().client("dynamodb")
    for logical_id, items in dataset.items():
        for item in items.values():
            dynamodb.put_item(TableName=deployment.table_names[logical_id], Item=to_item(item))


def stack_name_of(deployment) -> str:
    return deployment.table_names["OrdersTable"].rsplit("-", 1)[0]


def run_audit(deployment, tmp_path, *arguments: str) -> tuple[int, dict]:
    report_path = tmp_path / "audit.json"
    code = audit.main(["--stack-name", stack_name_of(deployment), "--report", str(report_path), *arguments])
    return code, json.loads(report_path.read_text())


def codes_of(report: dict) -> set[str]:
    return {violation["code"] for violation in report["violations"]}


# Changes to the consistent dataset, each breaking one rule, and the codes it must produce.
# Some breaks also unbalance the money, so MONEY_MISMATCH appears beside them.
def negative_stock(data):
    data["InventoryTable"]["PRODUCT#lamp"].update(stock=-1)


def reserved_above_reservations(data):
    data["InventoryTable"]["PRODUCT#mug"]["reserved"] += 1


def reserved_below_reservations(data):
    data["InventoryTable"]["PRODUCT#mug"]["reserved"] -= 1


def sold_above_commits(data):
    data["InventoryTable"]["PRODUCT#lamp"]["sold"] += 2


def shipped_without_commit(data):
    del data["InventoryTable"]["RESERVATION#o-shipped"]
    data["InventoryTable"]["PRODUCT#mug"]["sold"] -= 1


def commit_for_cancelled_order(data):
    data["InventoryTable"]["RESERVATION#o-cancelled"]["status"] = "COMMITTED"
    data["InventoryTable"]["PRODUCT#mug"]["sold"] += 1


def commit_for_paid_order(data):
    data["InventoryTable"]["RESERVATION#o-paid"]["status"] = "COMMITTED"
    data["InventoryTable"]["PRODUCT#mug"]["reserved"] -= 1
    data["InventoryTable"]["PRODUCT#mug"]["sold"] += 1


def leaked_reservation(data):
    data["InventoryTable"]["RESERVATION#o-expired"]["status"] = "RESERVED"
    data["InventoryTable"]["PRODUCT#mug"]["reserved"] += 1


def paid_without_payment(data):
    del data["PaymentsTable"]["o-paid"]


def paid_with_refunded_payment(data):
    data["PaymentsTable"]["o-shipped"].update(status="REFUNDED", refundedAmount=usd(1250))


def paid_with_other_amount(data):
    data["PaymentsTable"]["o-delivered"]["amount"] = brl(9000)


def partial_refund(data):
    data["PaymentsTable"]["o-cancelled"]["refundedAmount"] = usd(1000)


def capture_without_order(data):
    data["PaymentsTable"]["o-ghost"] = payment("o-ghost", "CAPTURED", usd(500))


def capture_of_cancelled_order(data):
    data["PaymentsTable"]["o-cancelled"] = payment("o-cancelled", "CAPTURED", usd(1250))


def capture_of_expired_order(data):
    data["PaymentsTable"]["o-expired"] = payment("o-expired", "CAPTURED", usd(1250))


def deadline_long_past(data):
    data["OrdersTable"]["o-reserved"]["paymentDeadline"] = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()


BREAKS = [
    (negative_stock, {"NEGATIVE_STOCK"}),
    (reserved_above_reservations, {"OVER_RESERVED"}),
    (reserved_below_reservations, {"OVER_RESERVED"}),
    (sold_above_commits, {"SOLD_MISMATCH"}),
    (shipped_without_commit, {"SOLD_MISMATCH"}),
    (commit_for_cancelled_order, {"SOLD_MISMATCH"}),
    (commit_for_paid_order, {"SOLD_MISMATCH"}),
    (leaked_reservation, {"RESERVATION_LEAK"}),
    (paid_without_payment, {"PAID_WITHOUT_CAPTURE", "MONEY_MISMATCH"}),
    (paid_with_refunded_payment, {"PAID_WITHOUT_CAPTURE", "MONEY_MISMATCH"}),
    (paid_with_other_amount, {"PAID_WITHOUT_CAPTURE", "MONEY_MISMATCH"}),
    (partial_refund, {"MONEY_MISMATCH"}),
    (capture_without_order, {"MONEY_MISMATCH"}),
    (capture_of_cancelled_order, {"UNREFUNDED_CAPTURE", "MONEY_MISMATCH"}),
    (capture_of_expired_order, {"UNREFUNDED_CAPTURE", "MONEY_MISMATCH"}),
    (deadline_long_past, {"OVERDUE"}),
]


def test_consistent_tables_pass(deployment, tmp_path, capsys):
    store(deployment, consistent_dataset())

    code, report = run_audit(deployment, tmp_path)

    assert code == 0
    assert report["violations"] == []
    assert report["counts"] == {"orders": 9, "products": 2, "reservations": 8, "payments": 5}
    assert report["money"] == {"BRL": {"capturedNet": 9900, "paidOrders": 9900}, "USD": {"capturedNet": 2500, "paidOrders": 2500}}
    assert capsys.readouterr().out.startswith("summary: no violations")


def test_empty_tables_pass(deployment, tmp_path):
    code, report = run_audit(deployment, tmp_path)

    assert code == 0
    assert report["counts"] == {"orders": 0, "products": 0, "reservations": 0, "payments": 0}


@pytest.mark.parametrize(("change", "expected"), BREAKS, ids=[change.__name__ for change, _ in BREAKS])
def test_broken_rule_is_reported(deployment, tmp_path, capsys, change, expected):
    data = consistent_dataset()
    change(data)
    store(deployment, data)

    code, report = run_audit(deployment, tmp_path)

    assert code == 1
    assert codes_of(report) == expected
    output = capsys.readouterr().out.splitlines()
    assert len(output) == len(report["violations"]) + 1
    assert {line.split(" ", 1)[0] for line in output[:-1]} == expected
    assert output[-1].startswith(f"summary: {len(report['violations'])} violation")


def test_violation_names_the_items(deployment, tmp_path):
    data = consistent_dataset()
    leaked_reservation(data)
    capture_of_cancelled_order(data)
    store(deployment, data)

    code, report = run_audit(deployment, tmp_path)

    ids = {violation["code"]: violation["ids"] for violation in report["violations"]}
    assert ids["RESERVATION_LEAK"] == {"orderId": "o-expired"}
    assert ids["UNREFUNDED_CAPTURE"] == {"orderId": "o-cancelled", "paymentId": "pay_o-cancelled"}
    assert ids["MONEY_MISMATCH"] == {"currency": "USD"}
    assert report["money"]["USD"] == {"capturedNet": 3750, "paidOrders": 2500}


def test_overdue_waits_for_grace(deployment, tmp_path):
    data = consistent_dataset()
    data["OrdersTable"]["o-pending"]["paymentDeadline"] = (datetime.now(timezone.utc) - timedelta(seconds=60)).isoformat()
    store(deployment, data)

    default_code, _ = run_audit(deployment, tmp_path)
    strict_code, strict = run_audit(deployment, tmp_path, "--grace-seconds", "10")

    assert default_code == 0
    assert strict_code == 1
    assert codes_of(strict) == {"OVERDUE"}


def test_missing_tables_exit_2(deployment, capsys):
    code = audit.main(["--stack-name", "no-such-stack"])

    assert code == 2
    assert "table no-such-stack-OrdersTable not found" in capsys.readouterr().err


def test_unreachable_endpoint_exits_2(deployment, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    code = audit.main(["--stack-name", stack_name_of(deployment), "--endpoint-url", f"http://127.0.0.1:{closed_port}"])

    assert code == 2
    assert "make run" in capsys.readouterr().err


def test_command_exits_1_on_violation(deployment):
    data = consistent_dataset()
    negative_stock(data)
    store(deployment, data)
    environment = {**os.environ, "STACK_NAME": stack_name_of(deployment)}

    completed = subprocess.run([sys.executable, "-m", "infra.ops.audit"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.startswith("NEGATIVE_STOCK sku=lamp")
