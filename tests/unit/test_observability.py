"""Correlated JSON logs and EMF metrics per invocation, including invocations on concurrent threads."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from chalice import Response

from shared import observability
from shared.http import create_app, json_response
from shared.queues import queue_name
from tests.events import FakeContext, api_event

log = logging.getLogger("shared.test_observability")

ORDERS_SETTINGS = {"POWERTOOLS_SERVICE_NAME": "orders", "POWERTOOLS_METRICS_FUNCTION_NAME": "PlaceOrderFunction"}


def output_lines(capsys) -> tuple[list[dict], list[dict]]:
    """Split captured stdout into JSON log lines and EMF documents."""
    logs, metrics = [], []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        (metrics if "_aws" in document else logs).append(document)
    return logs, metrics


def metric_values(metrics: list[dict], name: str) -> list[tuple[dict, list]]:
    """Each EMF document's dimensions and values for metric `name`."""
    found = []
    for document in metrics:
        directive = document["_aws"]["CloudWatchMetrics"][0]
        if any(metric["Name"] == name for metric in directive["Metrics"]):
            dimensions = {key: document[key] for key in directive["Dimensions"][0]}
            found.append((dimensions, document[name]))
    return found


@pytest.fixture
def probe_app():
    app = create_app("probe")

    @app.route("/orders/{orderId}", methods=["GET"])
    def get(orderId):
        return json_response(200, {"orderId": orderId})

    @app.route("/orders", methods=["POST"])
    def place():
        return json_response(202, {"orderId": "ord_new", "status": "PENDING"})

    @app.route("/broken", methods=["GET"])
    def broken():
        raise RuntimeError("the view failed")

    return app


def call(app, method: str, resource: str, path: str, headers: dict | None = None) -> dict:
    with observability.function_settings(ORDERS_SETTINGS):
        return app(api_event(method, resource, path, headers=headers), FakeContext())


def test_safe_correlation_header_is_kept(probe_app, capsys):
    response = call(probe_app, "GET", "/orders/{orderId}", "/orders/ord_1", headers={"X-Correlation-Id": "client-42:retry.1"})
    logs, _ = output_lines(capsys)

    assert response["headers"]["X-Correlation-Id"] == "client-42:retry.1"
    assert logs[-1]["message"] == "request completed"
    assert logs[-1]["correlation_id"] == "client-42:retry.1"
    assert logs[-1]["order_id"] == "ord_1"
    assert logs[-1]["function_name"] == "PlaceOrderFunction"
    assert logs[-1]["service"] == "orders"


@pytest.mark.parametrize("header", [None, "", "has space", "x" * 129, "semi;colon"])
def test_bad_header_uses_request_id(probe_app, header):
    event = api_event("GET", "/orders/{orderId}", "/orders/ord_1", headers={"X-Correlation-Id": header} if header is not None else None)

    with observability.function_settings(ORDERS_SETTINGS):
        response = probe_app(event, FakeContext())

    assert response["headers"]["X-Correlation-Id"] == event["requestContext"]["requestId"]


def test_new_order_id_is_logged_from_response(probe_app, capsys):
    call(probe_app, "POST", "/orders", "/orders")
    logs, _ = output_lines(capsys)

    assert logs[-1]["order_id"] == "ord_new"


def test_server_error_counts_handler_error(probe_app, capsys):
    response = call(probe_app, "GET", "/broken", "/broken")
    logs, metrics = output_lines(capsys)

    assert response["statusCode"] == 500
    failed = [line for line in logs if line["message"] == "request failed"]
    assert len(failed) == 1
    assert failed[0]["level"] == "ERROR"
    assert failed[0]["status"] == 500
    assert metric_values(metrics, "HandlerErrors") == [({"service": "orders", "function": "PlaceOrderFunction"}, [1.0])]


def test_client_error_counts_nothing(probe_app, capsys):
    call(probe_app, "GET", "/orders/{orderId}", "/orders/ord_1")
    _, metrics = output_lines(capsys)

    assert metric_values(metrics, "HandlerErrors") == []


def test_invocation_writes_one_document_per_dimension_set(capsys):
    with observability.function_settings(ORDERS_SETTINGS), observability.invocation(FakeContext()):
        observability.count("OrdersPlaced")
        observability.count("OrdersPlaced")
        observability.count("OrdersPaid")
        observability.record_queue_age("OrderEventsQueue", 0)
        observability.record_failure(LookupError("order ord_1 does not exist yet"), "message failed")
        _, during = output_lines(capsys)
    _, after = output_lines(capsys)

    assert during == []
    assert len(after) == 3
    assert {document["_aws"]["CloudWatchMetrics"][0]["Namespace"] for document in after} == {"Tradewind"}
    assert metric_values(after, "OrdersPlaced") == [({"service": "orders"}, [1.0, 1.0])]
    assert metric_values(after, "OrdersPaid") == [({"service": "orders"}, [1.0])]
    assert metric_values(after, "HandlerErrors") == [({"service": "orders", "function": "PlaceOrderFunction"}, [1.0])]
    [(dimensions, ages)] = metric_values(after, "QueueMessageAge")
    assert dimensions == {"service": "orders", "queue": "OrderEventsQueue"}
    assert ages[0] > 0


def test_metrics_are_written_when_the_invocation_raises(capsys):
    with pytest.raises(RuntimeError), observability.function_settings(ORDERS_SETTINGS), observability.invocation(FakeContext()):
        observability.count("OrdersCancelled")
        raise RuntimeError("after the write")
    _, metrics = output_lines(capsys)

    assert metric_values(metrics, "OrdersCancelled") == [({"service": "orders"}, [1.0])]


def test_count_outside_invocation_is_written_at_once(capsys):
    with observability.function_settings({"POWERTOOLS_SERVICE_NAME": "inventory"}):
        observability.count("StockRejected")
    _, metrics = output_lines(capsys)

    assert metric_values(metrics, "StockRejected") == [({"service": "inventory"}, [1.0])]


def test_count_of_none_writes_nothing(capsys):
    observability.count(None)
    _, metrics = output_lines(capsys)

    assert metrics == []


def test_correlated_block_restores_outer_keys(capsys):
    with observability.function_settings(ORDERS_SETTINGS), observability.invocation(FakeContext()):
        with observability.correlated("outer", order_id="ord_outer"):
            with observability.correlated("inner", order_id="ord_inner", message_id="m-1"):
                log.info("inside")
                assert observability.current_correlation_id() == "inner"
            log.info("outside")
            assert observability.current_correlation_id() == "outer"
    logs, _ = output_lines(capsys)

    assert [(line["correlation_id"], line["order_id"], line.get("message_id")) for line in logs] == [("inner", "ord_inner", "m-1"), ("outer", "ord_outer", None)]


def test_invocation_leaves_no_keys_behind(capsys):
    with observability.function_settings(ORDERS_SETTINGS), observability.invocation(FakeContext()):
        with observability.correlated("first", order_id="ord_first"):
            pass
        observability.set_order_id("ord_set")
    with observability.invocation(FakeContext()):
        log.info("second invocation")
    logs, _ = output_lines(capsys)

    assert "order_id" not in logs[-1]
    assert "correlation_id" not in logs[-1]
    assert observability.current_correlation_id() is None


def test_concurrent_invocations_keep_their_own_ids(capsys):
    # Each thread sets its ids, then waits until every thread has set its own
    # before logging, so a key kept in shared state would show another thread's id.
    threads_count = 4
    ready = threading.Barrier(threads_count)

    def invoke(index: int) -> None:
        settings = {"POWERTOOLS_SERVICE_NAME": f"service-{index}", "POWERTOOLS_METRICS_FUNCTION_NAME": f"Function{index}"}
        with observability.function_settings(settings), observability.invocation(FakeContext()):
            with observability.correlated(f"correlation-{index}", order_id=f"ord_{index}"):
                ready.wait(timeout=10)
                for _ in range(20):
                    log.info("working")
                observability.count("OrdersPlaced")
                ready.wait(timeout=10)

    threads = [threading.Thread(target=invoke, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logs, metrics = output_lines(capsys)

    assert len(logs) == threads_count * 20
    for line in logs:
        index = line["correlation_id"].rsplit("-", 1)[1]
        assert line["order_id"] == f"ord_{index}"
        assert line["function_name"] == f"Function{index}"
        assert line["service"] == f"service-{index}"
    assert sorted(dimensions["service"] for dimensions, _ in metric_values(metrics, "OrdersPlaced")) == [f"service-{index}" for index in range(threads_count)]


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:tradewind-ReserveStockQueue", "ReserveStockQueue"),
        ("arn:aws:sqs:us-east-1:123456789012:my-shop-stack-OrderEventsQueue", "OrderEventsQueue"),
        ("arn:aws:sqs:us-east-1:123456789012:tradewind-CapturePaymentQueue-1A2B3C4D5E6F", "CapturePaymentQueue"),
        ("arn:aws:sqs:us-east-1:123456789012:tradewind-OrderCatalogQueue-abcdefghijk1", "OrderCatalogQueue"),
        ("arn:aws:sqs:us-east-1:123456789012:tradewind-ReleaseStockQueue.fifo", "ReleaseStockQueue"),
        ("arn:aws:sqs:us-east-1:123456789012:test", "test"),
    ],
)
def test_queue_name_is_the_logical_id(arn, expected):
    assert queue_name(arn) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ord_1", "ord_1"),
        ("a.b:c-d_e", "a.b:c-d_e"),
        ("x" * 128, "x" * 128),
        ("x" * 129, None),
        ("", None),
        ("new\nline", None),
        (None, None),
        (42, None),
    ],
)
def test_safe_token(value, expected):
    assert observability.safe_token(value) == expected


def test_describe_keeps_the_first_line_only():
    error = ValueError("first line\nsecond line with details")

    assert observability.describe(error) == "first line"
    assert len(observability.describe(ValueError("x" * 1000))) == observability.MAX_ERROR_MESSAGE


def test_response_without_dict_body_still_gets_header(capsys):
    app = create_app("text")

    @app.route("/text", methods=["GET"])
    def text():
        return Response(body="plain", status_code=200, headers={"Content-Type": "text/plain"})

    response = call(app, "GET", "/text", "/text", headers={"X-Correlation-Id": "c-1"})

    assert response["headers"]["X-Correlation-Id"] == "c-1"
    assert response["body"] == "plain"


def test_template_names_each_functions_service(template):
    for name, function in template.functions.items():
        domain = function.image_metadata["DockerBuildArgs"]["FUNCTION_DIR"].split("/")[1]

        assert function.environment.get("POWERTOOLS_SERVICE_NAME") == domain, name
        assert function.environment.get("POWERTOOLS_METRICS_FUNCTION_NAME") == name, name
        assert function.environment.get("POWERTOOLS_METRICS_NAMESPACE") == "Tradewind", name
