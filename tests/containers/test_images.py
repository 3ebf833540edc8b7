"""Every function image answers API Gateway and SQS events through the RIE, with its tables and queues in moto.

Each SQS function gets the message that the step before it sent, read from
the queue, so the events are the ones the saga really produces.
"""

from __future__ import annotations

import json
import uuid

import pytest

from infra.local.invoker import FunctionError
from shared.messages import (
    CancelShipment,
    CapturePayment,
    CommitStock,
    CreateShipment,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    ProductPriced,
    RefundPayment,
    ReleaseStock,
    ShipmentCreated,
    ShipmentProgressed,
    StockReserved,
)
from shared.signatures import HEADER, sign
from tests.events import api_event, claims, scheduled_event, sqs_event
from tests.integration.helpers import receive_all as receive_queue
from tests.integration.signing import secrets_client

PRODUCT = "/products/{sku}"
ORDERS = "/orders"
ORDER = "/orders/{orderId}"
SHIPMENT = "/shipments/{shipmentId}"
SHIPMENT_EVENTS = "/shipments/{shipmentId}/events"


def receive_all(stack, queue: str) -> list:
    """Let the publisher images send pending outbox entries, then take every message in `queue`."""
    stack.publish_outboxes()
    return receive_queue(stack.queue_url(queue))


# A member of staff who also shops as c1, so one caller may use every route.
CALLER = claims("c1", "customer", "admin")


def call(stack, function: str, method: str, resource: str, path: str, body=None) -> tuple[int, dict]:
    response = stack.functions[function].invoke(api_event(method, resource, path, body, authorizer=CALLER)).result
    return response["statusCode"], json.loads(response["body"])


def post_carrier_event(stack, path: str, body: dict) -> tuple[int, dict]:
    """POST a carrier event to its image, signed with the stack's carrier secret as the carrier signs it."""
    raw = json.dumps(body).encode()
    secret = secrets_client().get_secret_value(SecretId=stack.deployment.secret_arns["CarrierWebhookSecret"])["SecretString"]
    event = api_event("POST", SHIPMENT_EVENTS, path, raw_body=raw, headers={HEADER: sign(secret, raw)})
    response = stack.functions["RecordShipmentEventFunction"].invoke(event).result
    return response["statusCode"], json.loads(response["body"])


def deliver(stack, function: str, *messages) -> dict:
    return stack.functions[function].invoke(sqs_event(*[message.to_json() for message in messages])).result


def only(messages: list, kind: type):
    matching = [message for message in messages if isinstance(message, kind)]
    assert len(matching) == 1, f"expected one {kind.__name__}, got {messages}"
    return matching[0]


def put_product(stack, stock: int = 5) -> str:
    """Create a product and sync its price into the orders catalog, as the saga does."""
    sku = f"sku-{uuid.uuid4().hex[:10]}"
    status, _ = call(stack, "PutProductFunction", "PUT", PRODUCT, f"/products/{sku}", product_body(stock))
    assert status == 201
    priced = only(receive_all(stack, "OrderCatalogQueue"), ProductPriced)
    assert deliver(stack, "SyncCatalogFunction", priced) == {"batchItemFailures": []}
    return sku


def product_body(stock: int) -> dict:
    return {"name": "Mug", "category": "kitchen", "price": {"amount": 1250, "currency": "USD"}, "stock": stock}


def place_reserved_order(stack, sku: str, token: str = "tok_success") -> str:
    """Place an order for two units and run reserve-stock and advance-order on it; returns the order id."""
    status, accepted = call(stack, "PlaceOrderFunction", "POST", ORDERS, "/orders", order_body(sku, token))
    assert status == 202
    placed = only(receive_all(stack, "ReserveStockQueue"), OrderPlaced)
    assert deliver(stack, "ReserveStockFunction", placed) == {"batchItemFailures": []}
    reserved = only(receive_all(stack, "OrderEventsQueue"), StockReserved)
    assert deliver(stack, "AdvanceOrderFunction", reserved) == {"batchItemFailures": []}
    return accepted["orderId"]


def order_body(sku: str, token: str = "tok_success") -> dict:
    return {"customerId": "c1", "lines": [{"sku": sku, "quantity": 2}], "payment": {"token": token}}


def stock_of(stack, sku: str) -> dict:
    status, product = call(stack, "GetProductFunction", "GET", PRODUCT, f"/products/{sku}")
    assert status == 200
    return {key: product[key] for key in ("stock", "reserved", "sold")}


def test_put_product_creates_then_replaces(stack):
    sku = f"sku-{uuid.uuid4().hex[:10]}"

    created_status, created = call(stack, "PutProductFunction", "PUT", PRODUCT, f"/products/{sku}", product_body(5))
    replaced_status, replaced = call(stack, "PutProductFunction", "PUT", PRODUCT, f"/products/{sku}", product_body(7))

    assert created_status == 201
    assert created["stock"] == 5
    assert replaced_status == 200
    assert replaced["stock"] == 7
    assert len(receive_all(stack, "OrderCatalogQueue")) == 2


def test_put_product_rejects_invalid_body(stack):
    status, document = call(stack, "PutProductFunction", "PUT", PRODUCT, "/products/mug", {"name": "Mug"})

    assert status == 400
    assert document["error"]["code"] == "MISSING_FIELD"


def test_get_product_returns_stock(stack):
    sku = put_product(stack, stock=5)

    assert stock_of(stack, sku) == {"stock": 5, "reserved": 0, "sold": 0}


def test_get_unknown_product_is_not_found(stack):
    status, document = call(stack, "GetProductFunction", "GET", PRODUCT, "/products/no-such-sku")

    assert status == 404
    assert document["error"]["code"] == "PRODUCT_NOT_FOUND"


def test_place_order_prices_synced_product(stack):
    sku = put_product(stack)

    status, accepted = call(stack, "PlaceOrderFunction", "POST", ORDERS, "/orders", order_body(sku))
    order_status, order = call(stack, "GetOrderFunction", "GET", ORDER, f"/orders/{accepted['orderId']}")

    assert status == 202
    assert accepted["status"] == "PENDING"
    assert order_status == 200
    assert order["total"] == {"amount": 2500, "currency": "USD"}
    assert only(receive_all(stack, "ReserveStockQueue"), OrderPlaced).order_id == accepted["orderId"]


def test_place_order_rejects_unknown_sku(stack):
    status, document = call(stack, "PlaceOrderFunction", "POST", ORDERS, "/orders", order_body("never-put"))

    assert status == 400
    assert document["error"]["code"] == "UNKNOWN_SKU"


def test_get_unknown_order_is_not_found(stack):
    status, document = call(stack, "GetOrderFunction", "GET", ORDER, "/orders/ord_missing")

    assert status == 404
    assert document["error"]["code"] == "ORDER_NOT_FOUND"


def test_reserve_and_advance_request_payment(stack):
    sku = put_product(stack, stock=5)

    order_id = place_reserved_order(stack, sku)

    _, order = call(stack, "GetOrderFunction", "GET", ORDER, f"/orders/{order_id}")
    assert order["status"] == "RESERVED"
    assert stock_of(stack, sku) == {"stock": 3, "reserved": 2, "sold": 0}
    assert only(receive_all(stack, "CapturePaymentQueue"), CapturePayment).order_id == order_id


def test_paid_order_ships_and_commits_stock(stack):
    sku = put_product(stack, stock=5)
    order_id = place_reserved_order(stack, sku)
    capture = only(receive_all(stack, "CapturePaymentQueue"), CapturePayment)

    assert deliver(stack, "CapturePaymentFunction", capture) == {"batchItemFailures": []}
    captured = only(receive_all(stack, "OrderEventsQueue"), PaymentCaptured)
    deliver(stack, "AdvanceOrderFunction", captured)
    create = only(receive_all(stack, "CreateShipmentQueue"), CreateShipment)
    assert deliver(stack, "CreateShipmentFunction", create) == {"batchItemFailures": []}
    created = only(receive_all(stack, "OrderEventsQueue"), ShipmentCreated)
    deliver(stack, "AdvanceOrderFunction", created)
    events_path = f"/shipments/{created.shipment_id}/events"
    picked = post_carrier_event(stack, events_path, {"type": "PICKED_UP", "at": "2026-01-01T10:00:00Z"})
    progressed = only(receive_all(stack, "OrderEventsQueue"), ShipmentProgressed)
    deliver(stack, "AdvanceOrderFunction", progressed)
    commit = receive_all(stack, "CommitStockQueue")

    _, order = call(stack, "GetOrderFunction", "GET", ORDER, f"/orders/{order_id}")
    assert picked[0] == 200
    assert order["status"] == "SHIPPED"
    assert order["shipmentId"] == created.shipment_id
    assert commit == [CommitStock(order_id=order_id)]
    assert deliver(stack, "CommitStockFunction", *commit) == {"batchItemFailures": []}
    assert stock_of(stack, sku) == {"stock": 3, "reserved": 0, "sold": 2}


def test_cancelled_paid_order_is_refunded_and_unshipped(stack):
    sku = put_product(stack, stock=5)
    order_id = place_reserved_order(stack, sku)
    deliver(stack, "CapturePaymentFunction", only(receive_all(stack, "CapturePaymentQueue"), CapturePayment))
    deliver(stack, "AdvanceOrderFunction", only(receive_all(stack, "OrderEventsQueue"), PaymentCaptured))
    deliver(stack, "CreateShipmentFunction", only(receive_all(stack, "CreateShipmentQueue"), CreateShipment))
    created = only(receive_all(stack, "OrderEventsQueue"), ShipmentCreated)
    deliver(stack, "AdvanceOrderFunction", created)

    status, cancelled = call(stack, "CancelOrderFunction", "POST", "/orders/{orderId}/cancel", f"/orders/{order_id}/cancel")
    refund = only(receive_all(stack, "RefundPaymentQueue"), RefundPayment)
    cancel_shipment = only(receive_all(stack, "CancelShipmentQueue"), CancelShipment)
    release = only(receive_all(stack, "ReleaseStockQueue"), ReleaseStock)

    assert status == 200
    assert cancelled["status"] == "CANCELLED"
    assert deliver(stack, "RefundPaymentFunction", refund) == {"batchItemFailures": []}
    assert only(receive_all(stack, "OrderEventsQueue"), PaymentRefunded).amount.amount == 2500
    assert deliver(stack, "CancelShipmentFunction", cancel_shipment) == {"batchItemFailures": []}
    assert call(stack, "GetShipmentFunction", "GET", SHIPMENT, f"/shipments/{created.shipment_id}")[1]["status"] == "CANCELLED"
    assert deliver(stack, "ReleaseStockFunction", release) == {"batchItemFailures": []}
    assert stock_of(stack, sku) == {"stock": 5, "reserved": 0, "sold": 0}


def test_expire_orders_answers_scheduled_event(stack):
    result = stack.functions["ExpireOrdersFunction"].invoke(scheduled_event()).result

    assert result == {"expired": 0}


def test_declined_payment_releases_stock(stack):
    sku = put_product(stack, stock=5)
    order_id = place_reserved_order(stack, sku, token="tok_decline")
    capture = only(receive_all(stack, "CapturePaymentQueue"), CapturePayment)

    deliver(stack, "CapturePaymentFunction", capture)
    declined = only(receive_all(stack, "OrderEventsQueue"), PaymentDeclined)
    deliver(stack, "AdvanceOrderFunction", declined)
    release = receive_all(stack, "ReleaseStockQueue")

    assert declined.reason == "card_declined"
    assert release == [ReleaseStock(order_id=order_id)]
    assert deliver(stack, "ReleaseStockFunction", *release) == {"batchItemFailures": []}
    assert stock_of(stack, sku) == {"stock": 5, "reserved": 0, "sold": 0}


def test_shipment_events_build_history(stack):
    deliver(stack, "CreateShipmentFunction", CreateShipment(order_id=f"o-{uuid.uuid4().hex[:8]}", lines=()))
    shipment_id = only(receive_all(stack, "OrderEventsQueue"), ShipmentCreated).shipment_id
    events_path = f"/shipments/{shipment_id}/events"

    picked = post_carrier_event(stack, events_path, {"type": "PICKED_UP", "at": "2026-01-01T10:00:00Z"})
    delivered = post_carrier_event(stack, events_path, {"type": "DELIVERED", "at": "2026-01-03T10:00:00Z"})
    back = post_carrier_event(stack, events_path, {"type": "PICKED_UP", "at": "2026-01-04T10:00:00Z"})
    status, shipment = call(stack, "GetShipmentFunction", "GET", SHIPMENT, f"/shipments/{shipment_id}")

    assert picked[0] == 200
    assert delivered[0] == 200
    assert back[0] == 409
    assert back[1]["error"]["code"] == "INVALID_SHIPMENT_TRANSITION"
    assert status == 200
    assert [entry["status"] for entry in shipment["history"]] == ["CREATED", "PICKED_UP", "DELIVERED"]


def test_get_unknown_shipment_is_not_found(stack):
    status, document = call(stack, "GetShipmentFunction", "GET", SHIPMENT, "/shipments/shp_missing")

    assert status == 404
    assert document["error"]["code"] == "SHIPMENT_NOT_FOUND"


def test_invalid_message_is_reported_as_batch_failure(stack):
    sku = f"sku-{uuid.uuid4().hex[:10]}"
    call(stack, "PutProductFunction", "PUT", PRODUCT, f"/products/{sku}", product_body(1))
    priced = only(receive_all(stack, "OrderCatalogQueue"), ProductPriced)
    event = sqs_event(priced.to_json(), "not a message")

    response = stack.functions["SyncCatalogFunction"].invoke(event).result

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_unhandled_exception_raises_function_error(stack):
    function = stack.functions["ReserveStockFunction"]
    errors_before = function.errors

    with pytest.raises(FunctionError) as raised:
        function.invoke({"Records": "not a list"})

    assert type(raised.value.error).__name__ == "UnexpectedBatchTypeError"
    assert function.errors == errors_before + 1


def test_cold_start_reports_init_duration(stack):
    durations = stack.functions["GetProductFunction"].init_durations_ms

    assert durations
    assert all(0 < duration < 30_000 for duration in durations)
