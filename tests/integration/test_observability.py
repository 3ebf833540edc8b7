"""Business metrics, HandlerErrors and correlation ids of the real handlers against moto."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from functions.inventory.reserve_stock import app as reserve_stock
from functions.orders.advance_order import app as advance_order
from functions.orders.expire_orders import app as expire_orders
from functions.payments.capture_payment import app as capture_payment
from shared import observability
from shared.aws import client, to_item
from shared.inventory import table as inventory
from shared.messages import CapturePayment, Line, OrderPlaced, PaymentCaptured, PaymentDeclined, ShipmentProgressed, StockReserved
from shared.money import Money
from shared.orders import table as orders
from shared.orders.model import OrderStatus
from tests.events import FakeContext, scheduled_event, sqs_event
from tests.integration.helpers import deliver, sqs

USD_2500 = {"amount": 2500, "currency": "USD"}


def settings(service: str, function: str):
    return observability.function_settings({"POWERTOOLS_SERVICE_NAME": service, "POWERTOOLS_METRICS_FUNCTION_NAME": function})


def emitted(capsys) -> tuple[dict[tuple, float], list[dict]]:
    """Sum the EMF values written so far per (metric, dimensions), and return the JSON log lines."""
    totals: dict[tuple, float] = {}
    logs = []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" not in document:
            logs.append(document)
            continue
        directive = document["_aws"]["CloudWatchMetrics"][0]
        dimensions = tuple((name, document[name]) for name in directive["Dimensions"][0])
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            key = (metric["Name"], dimensions)
            totals[key] = totals.get(key, 0) + sum(values if isinstance(values, list) else [values])
    return totals, logs


def store_order(status: str, deadline: datetime | None = None, **fields) -> str:
    order_id = f"ord_{uuid.uuid4().hex}"
    document = {
        "orderId": order_id,
        "status": status,
        "version": 1,
        "customerId": "c1",
        "lines": [{"sku": "mug", "quantity": 2, "unitPrice": {"amount": 1250, "currency": "USD"}, "lineTotal": USD_2500}],
        "total": USD_2500,
        "paymentToken": "tok_success",
        "paymentDeadline": (deadline or datetime.now(timezone.utc) + timedelta(minutes=15)).isoformat(),
        **fields,
    }
    if status in ("PENDING", "RESERVED"):
        document["awaitingPayment"] = "1"
    client("dynamodb").put_item(TableName=os.environ["ORDERS_TABLE"], Item=to_item(document))
    return order_id


def store_product(sku: str, stock: int) -> None:
    item = {"pk": f"PRODUCT#{sku}", "sku": sku, "name": sku, "category": "kitchen", "price": {"amount": 1250, "currency": "USD"}, "stock": stock, "reserved": 0, "sold": 0}
    client("dynamodb").put_item(TableName=os.environ["INVENTORY_TABLE"], Item=to_item(item))


ORDERS = (("service", "orders"),)
INVENTORY = (("service", "inventory"),)


def test_placing_counts_once_and_keeps_correlation_id(deployment, capsys):
    order = {"orderId": f"ord_{uuid.uuid4().hex}", "status": "PENDING", "total": USD_2500}

    with settings("orders", "PlaceOrderFunction"), observability.invocation(FakeContext()), observability.correlated("corr-place"):
        first = orders.insert_order(order, [])
        repeat = orders.insert_order(order, [])
    totals, _ = emitted(capsys)

    assert (first, repeat) == (True, False)
    assert totals == {("OrdersPlaced", ORDERS): 1}
    assert orders.get_order(order["orderId"])["correlationId"] == "corr-place"


@pytest.mark.parametrize(
    ("status", "message", "metric", "reached"),
    [
        ("RESERVED", lambda order_id: PaymentCaptured(order_id=order_id, payment_id="pay_1", amount=Money(amount=2500, currency="USD")), "OrdersPaid", "PAID"),
        ("PAID", lambda order_id: ShipmentProgressed(order_id=order_id, shipment_id="shp_1", status="PICKED_UP", at=datetime.now(timezone.utc)), "OrdersShipped", "SHIPPED"),
        ("SHIPPED", lambda order_id: ShipmentProgressed(order_id=order_id, shipment_id="shp_1", status="DELIVERED", at=datetime.now(timezone.utc)), "OrdersDelivered", "DELIVERED"),
    ],
    ids=["paid", "shipped", "delivered"],
)
def test_order_event_counts_its_state_once(deployment, capsys, status, message, metric, reached):
    order_id = store_order(status)

    with settings("orders", "AdvanceOrderFunction"):
        deliver(advance_order.advance_order, message(order_id))
        deliver(advance_order.advance_order, message(order_id))
    totals, _ = emitted(capsys)

    assert orders.get_order(order_id)["status"] == reached
    assert totals[(metric, ORDERS)] == 1
    assert ("HandlerErrors", (("service", "orders"), ("function", "AdvanceOrderFunction"))) not in totals


def test_declined_payment_is_not_counted_by_orders(deployment, capsys):
    order_id = store_order("RESERVED")

    with settings("orders", "AdvanceOrderFunction"):
        deliver(advance_order.advance_order, PaymentDeclined(order_id=order_id, reason="card_declined"))
    totals, _ = emitted(capsys)

    assert orders.get_order(order_id)["status"] == "PAYMENT_FAILED"
    assert [name for name, _ in totals if name != "QueueMessageAge"] == []


def test_declined_capture_counts_payments_declined(deployment, capsys):
    command = CapturePayment(order_id=f"ord_{uuid.uuid4().hex}", amount=Money(amount=2500, currency="USD"), token="tok_decline")

    with settings("payments", "CapturePaymentFunction"):
        deliver(capture_payment.capture_payment, command)
        deliver(capture_payment.capture_payment, command)
    totals, _ = emitted(capsys)

    assert totals[("PaymentsDeclined", (("service", "payments"),))] == 1


def test_cancel_counts_orders_cancelled(deployment, capsys):
    order_id = store_order("RESERVED")

    with settings("orders", "CancelOrderFunction"), observability.invocation(FakeContext()):
        moved = orders.move_order(order_id, OrderStatus.CANCELLED)
        again = orders.move_order(order_id, OrderStatus.CANCELLED)
    totals, _ = emitted(capsys)

    assert (moved, again) == (True, False)
    assert totals == {("OrdersCancelled", ORDERS): 1}


def test_refund_counts_orders_refunded(deployment, capsys):
    order_id = store_order("DELIVERED")

    with settings("orders", "RefundOrderFunction"), observability.invocation(FakeContext()):
        orders.move_order(order_id, OrderStatus.REFUNDED)
    totals, _ = emitted(capsys)

    assert totals == {("OrdersRefunded", ORDERS): 1}


def test_expiry_counts_and_keeps_the_orders_correlation_id(deployment, capsys):
    order_id = store_order("PENDING", deadline=datetime.now(timezone.utc) - timedelta(minutes=1), correlationId="corr-placed")

    with settings("orders", "ExpireOrdersFunction"):
        result = expire_orders.expire_orders(scheduled_event(), FakeContext())
    deployment.outboxes.flush()
    totals, logs = emitted(capsys)

    assert result == {"expired": 1}
    assert totals[("OrdersExpired", ORDERS)] == 1
    [expired] = [line for line in logs if line["message"] == "order expired"]
    assert (expired["correlation_id"], expired["order_id"]) == ("corr-placed", order_id)
    released = sqs().receive_message(QueueUrl=deployment.queue_urls["ReleaseStockQueue"], MessageAttributeNames=["All"])["Messages"]
    assert [message["MessageAttributes"]["correlationId"]["StringValue"] for message in released] == ["corr-placed"]
    sent = [line for line in logs if line["message"] == "message sent"]
    assert [(line["correlation_id"], line["order_id"], line["message_type"]) for line in sent] == [("corr-placed", order_id, "ReleaseStock")]


def test_reservation_counts_reserved_then_rejected(deployment, capsys):
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    store_product(sku, stock=3)

    with settings("inventory", "ReserveStockFunction"):
        deliver(reserve_stock.reserve_stock, OrderPlaced(order_id=f"ord_{uuid.uuid4().hex}", lines=(Line(sku=sku, quantity=2),)))
        deliver(reserve_stock.reserve_stock, OrderPlaced(order_id=f"ord_{uuid.uuid4().hex}", lines=(Line(sku=sku, quantity=2),)))
    totals, _ = emitted(capsys)

    assert totals[("StockReserved", INVENTORY)] == 1
    assert totals[("StockRejected", INVENTORY)] == 1


def test_reservation_conflict_is_counted(deployment, capsys):
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    store_product(sku, stock=3)
    dynamodb = client("dynamodb")
    conflicts = []

    def conflict_once(**kwargs):
        # The error DynamoDB returns when another transaction writes one of the same items at that moment.
        if not conflicts:
            conflicts.append(kwargs["model"].name)
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}, "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                "TransactWriteItems",
            )

    dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict_once)
    try:
        with settings("inventory", "ReserveStockFunction"), observability.invocation(FakeContext()):
            outcome = inventory.reserve(f"ord_{uuid.uuid4().hex}", {sku: 1})
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", conflict_once)
    totals, _ = emitted(capsys)

    assert outcome == (inventory.RESERVED, [])
    assert totals == {("ReservationConflicts", INVENTORY): 1, ("StockReserved", INVENTORY): 1}


def test_failed_record_counts_handler_error(deployment, capsys):
    event = sqs_event(StockReserved(order_id="ord_missing").to_json(), queue_arn="arn:aws:sqs:us-east-1:123456789012:tradewind-OrderEventsQueue")
    event["Records"][0]["messageAttributes"] = {"correlationId": {"stringValue": "corr-failing", "dataType": "String"}}

    with settings("orders", "AdvanceOrderFunction"), pytest.raises(BatchProcessingError):
        advance_order.advance_order(event, FakeContext())
    totals, logs = emitted(capsys)

    assert totals[("HandlerErrors", (("service", "orders"), ("function", "AdvanceOrderFunction")))] == 1
    assert totals[("QueueMessageAge", (("service", "orders"), ("queue", "OrderEventsQueue")))] >= 0
    [failed] = [line for line in logs if line["message"] == "message failed"]
    assert failed["level"] == "ERROR"
    assert failed["error_type"] == "LookupError"
    assert failed["error"] == "order ord_missing does not exist yet"
    assert (failed["correlation_id"], failed["order_id"], failed["function_name"]) == ("corr-failing", "ord_missing", "AdvanceOrderFunction")


def test_record_without_correlation_attribute_uses_its_message_id(deployment, capsys):
    order_id = store_order("RESERVED")
    event = sqs_event(PaymentDeclined(order_id=order_id, reason="card_declined").to_json())

    with settings("orders", "AdvanceOrderFunction"):
        advance_order.advance_order(event, FakeContext())
    _, logs = emitted(capsys)

    [handled] = [line for line in logs if line["message"] == "message handled"]
    assert handled["correlation_id"] == event["Records"][0]["messageId"]
    assert handled["order_id"] == order_id
