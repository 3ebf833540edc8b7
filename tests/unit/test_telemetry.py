"""The runtime's view of function output: per-thread capture, EMF metrics, errors and the function log."""

from __future__ import annotations

import json
import logging
import sys
import threading
from contextlib import contextmanager

import pytest

from infra.local.telemetry import MetricStore, Telemetry


def emf(name: str, values, unit: str = "Count", **dimensions) -> dict:
    return {
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "Tradewind", "Dimensions": [list(dimensions)], "Metrics": [{"Name": name, "Unit": unit}]}]},
        **dimensions,
        name: values,
    }


@pytest.fixture
def telemetry(tmp_path):
    return Telemetry(tmp_path / "functions.log")


@contextmanager
def started(telemetry: Telemetry):
    # Started inside the test, because pytest sets its own sys.stdout again between a fixture and the test.
    telemetry.start()
    try:
        yield
    finally:
        telemetry.stop()


def test_store_sums_per_dimension_values():
    store = MetricStore()

    store.add(emf("OrdersPlaced", [1.0, 1.0], service="orders"))
    store.add(emf("OrdersPlaced", 1.0, service="orders"))
    store.add(emf("QueueMessageAge", [120.0, 30.0], unit="Milliseconds", service="orders", queue="OrderEventsQueue"))
    store.add(emf("HandlerErrors", [1.0], service="orders", function="AdvanceOrderFunction"))
    store.add(emf("HandlerErrors", [1.0], service="payments", function="CapturePaymentFunction"))

    assert store.totals() == {"OrdersPlaced": 3.0, "HandlerErrors": 2.0}
    [age] = [series for series in store.series() if series.name == "QueueMessageAge"]
    assert age.dimensions == {"service": "orders", "queue": "OrderEventsQueue"}
    assert (age.sum, age.samples, age.maximum) == (150.0, 2, 120.0)


@pytest.mark.parametrize("document", [{"_aws": {}}, {"_aws": {"CloudWatchMetrics": "x"}}, emf("OrdersPlaced", "many", service="orders"), emf("OrdersPlaced", [True], service="orders")])
def test_store_ignores_malformed_documents(document):
    store = MetricStore()

    store.add(document)

    assert store.series() == []


def test_capture_keeps_each_threads_output_apart(telemetry, caplog, tmp_path):
    # Both threads write while the other is capturing, so output routed by
    # anything but the writing thread would end up in the wrong function.
    both_capturing = threading.Barrier(2)

    def invoke(function: str, order: str) -> None:
        with telemetry.capture(function):
            both_capturing.wait(timeout=10)
            for _ in range(10):
                print(json.dumps({"level": "INFO", "message": "step", "order_id": order}))
            both_capturing.wait(timeout=10)

    caplog.set_level(logging.INFO, logger="tradewind.runtime.functions")
    threads = [threading.Thread(target=invoke, args=("FirstFunction", "ord_a")), threading.Thread(target=invoke, args=("SecondFunction", "ord_b"))]
    with started(telemetry):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    forwarded = [json.loads(record.getMessage()) for record in caplog.records if record.name == "tradewind.runtime.functions"]
    assert len(forwarded) == 20
    assert {line["order_id"] for line in forwarded} == {"ord_a", "ord_b"}
    # The function log gets each invocation's output in one write, so a mixed block means mixed capture.
    written = [json.loads(line)["order_id"] for line in (tmp_path / "functions.log").read_text().splitlines()]
    assert len(set(written[:10])) == 1
    assert len(set(written[10:])) == 1


def test_capture_sorts_metrics_errors_and_lines(telemetry, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="tradewind.runtime.functions")

    with started(telemetry), telemetry.capture("CapturePaymentFunction"):
        print(json.dumps(emf("HandlerErrors", [1.0], service="payments", function="CapturePaymentFunction")))
        print(
            json.dumps(
                {
                    "timestamp": "2026-12-01T10:00:00.000+00:00",
                    "level": "ERROR",
                    "message": "message failed",
                    "error_type": "ProviderUnavailable",
                    "error": "payment provider failed to capture 2500 USD",
                    "correlation_id": "c-1",
                    "order_id": "ord_1",
                }
            )
        )
        print("a line that is not JSON")

    assert telemetry.metrics.totals() == {"HandlerErrors": 1.0}
    assert telemetry.recent_errors() == [
        {
            "function": "CapturePaymentFunction",
            "time": "2026-12-01T10:00:00.000+00:00",
            "type": "ProviderUnavailable",
            "message": "payment provider failed to capture 2500 USD",
            "correlationId": "c-1",
            "orderId": "ord_1",
        }
    ]
    forwarded = [(record.levelname, record.getMessage()) for record in caplog.records if record.name == "tradewind.runtime.functions"]
    assert len(forwarded) == 2
    assert forwarded[0][0] == "ERROR"
    assert forwarded[1] == ("INFO", "CapturePaymentFunction: a line that is not JSON")
    written = (tmp_path / "functions.log").read_text().splitlines()
    assert len(written) == 3
    assert json.loads(written[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "HandlerErrors", "Unit": "Count"}]


def test_recorded_error_keeps_first_line_only(telemetry):
    telemetry.record_error("AdvanceOrderFunction", RuntimeError("All records failed processing.\nTraceback with a body"))

    [error] = telemetry.recent_errors()
    assert (error["function"], error["type"], error["message"]) == ("AdvanceOrderFunction", "RuntimeError", "All records failed processing.")


def test_recent_errors_keep_the_latest_first(telemetry):
    for index in range(30):
        telemetry.record_error("AdvanceOrderFunction", RuntimeError(f"error {index}"))

    errors = telemetry.recent_errors()
    assert len(errors) == 20
    assert errors[0]["message"] == "error 29"
    assert errors[-1]["message"] == "error 10"


def test_writes_outside_a_capture_pass_through(telemetry, capsys):
    with started(telemetry):
        print("runtime line")

    assert capsys.readouterr().out == "runtime line\n"


def test_stop_restores_stdout(tmp_path):
    before = sys.stdout
    telemetry = Telemetry()

    telemetry.start()
    installed = sys.stdout
    telemetry.stop()

    assert installed is not before
    assert sys.stdout is before
