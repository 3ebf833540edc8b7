"""`make bench` end to end on a small dataset: its own runtime, five orders, the JSON report and the chart."""

from __future__ import annotations

import json

import pytest
from matplotlib import image

from infra.bench.bench import run
from infra.bench.settings import BenchSettings
from tests.e2e.test_replay import write_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    write_dataset(folder / "olist")
    settings = BenchSettings(olist_dir=folder / "olist", report=folder / "reports" / "bench.json", orders=5, concurrency=4, ceiling_calls=50, progress=False)
    return settings, run(settings)


@pytest.mark.slow
def test_bench_completes_every_checkout(bench):
    _settings, document = bench
    load = document["load"]

    assert load["orders"] == 5
    assert load["completed"] == 5
    assert load["server_errors"] == 0
    assert load["timeouts"] == 0
    assert load["expected"]["mismatched"] == 0
    assert load["checkouts_per_second"] > 0
    assert document["latency_ms"]["place_order"]["p50"] > 0
    assert document["latency_ms"]["order_to_delivered"]["p99"] > 0


@pytest.mark.slow
def test_bench_writes_its_report(bench):
    settings, document = bench

    assert json.loads(settings.report.read_text()) == document


@pytest.mark.slow
def test_bench_usage_is_plausible(bench):
    _settings, document = bench
    totals = document["usage"]["totals"]
    per_checkout = document["usage"]["billable_per_checkout"]

    # Each checkout places an order and reads it at least once through the API.
    assert per_checkout["api_gateway_rest_requests"] >= 2
    assert per_checkout["lambda_requests"] > per_checkout["api_gateway_rest_requests"]
    assert per_checkout["lambda_gb_seconds"] > 0
    assert per_checkout["sqs_standard_requests"] > 0
    assert per_checkout["dynamodb_read_request_units"] > 0
    assert per_checkout["dynamodb_write_request_units"] > 0
    assert per_checkout["dynamodb_streams_read_requests"] == 0
    assert totals["dynamodb_unmetered_calls"] == 0
    # Lambda bills at least 1 ms per invocation.
    for name, count in totals["invocations_by_function"].items():
        assert totals["billed_ms_by_function"][name] >= count, name


@pytest.mark.slow
def test_bench_costs_add_up(bench):
    _settings, document = bench
    dollars = document["cost"]["usd_per_million_checkouts"]
    lines = [cost for name, cost in dollars.items() if name != "total" and cost is not None]

    assert dollars["total"] == pytest.approx(sum(lines), abs=0.001)
    assert dollars["total"] > 0
    assert 0 < document["cost"]["status_polls"]["usd_per_million_checkouts"] < dollars["total"]


@pytest.mark.slow
def test_bench_measures_emulator_ceiling(bench):
    _settings, document = bench
    emulator = document["emulator"]

    assert emulator["ceiling"]["dynamodb_put_item"]["calls"] == 50
    assert len(emulator["ceiling"]["dynamodb_put_item"]["rounds"]) == 3
    assert emulator["ceiling"]["dynamodb_put_item"]["per_second"] == max(emulator["ceiling"]["dynamodb_put_item"]["rounds"])
    assert emulator["ceiling"]["sqs_send_message"]["per_second"] > 0
    assert emulator["calls_per_second"]["dynamodb"] > 0
    assert emulator["checkouts_per_second_at_dynamodb_ceiling"] > 0


@pytest.mark.slow
def test_bench_draws_its_chart(bench):
    settings, _document = bench

    assert settings.chart.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _channels = image.imread(settings.chart).shape
    assert (width, height) == (1000, 900)
