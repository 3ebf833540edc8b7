"""Run the benchmark: import the sample's catalogue, place its orders, measure, and write the report and chart."""

from __future__ import annotations

import logging
import os
import time

from infra.bench import chart, costs, report, usage
from infra.bench.ceiling import measure_ceiling
from infra.bench.sample import sample
from infra.bench.settings import BenchSettings
from infra.local.template import Template
from infra.local.template import load as load_template
from infra.replay import dataset
from infra.replay.orders import NO_RESPONSE, NOT_ACCEPTED, OrderOutcome
from infra.replay.replay import connect, import_catalogue, quiet_logs, read_stats, replay_orders, serve, wait_until_idle
from infra.replay.settings import ROOT

log = logging.getLogger("tradewind.bench")

# The route the benchmark polls to follow each order.
ORDER_PATH = "/orders/{orderId}"


class BenchError(Exception):
    """The benchmark could not go on: no order to place, a failed catalogue import, or a runtime that did not drain its queues in time."""


def run(settings: BenchSettings) -> dict:
    """Benchmark `settings.target`, or a runtime started here, and write the JSON report and the chart.

    Returns the report. Raises DatasetError for a missing dataset, BenchError
    when there is no order, the catalogue import fails or the runtime stays
    busy, and UsageError when the runtime does not count what the costs need.
    """
    replay_settings = settings.replay_settings()
    full = dataset.load(settings.olist_dir)
    data = sample(full, settings.orders, settings.seed)
    if not data.orders:
        raise BenchError(f"the dataset in {settings.olist_dir} has no order with lines to place")
    template = load_template(ROOT / "template.yaml")
    prices = costs.load_prices(settings.prices)

    with quiet_logs() as emulator_errors, serve(replay_settings) as base_url:
        api = connect(base_url)
        log.info("importing %d products into %s", len(data.products), base_url)
        catalogue = import_catalogue(api, data.products, replay_settings)
        if catalogue["imported"] != catalogue["products"]:
            first = api.error_samples[0] if api.error_samples else {}
            raise BenchError(f"{catalogue['products'] - catalogue['imported']} of {catalogue['products']} products failed to import; first error: {first}")
        if not wait_until_idle(api, replay_settings):
            raise BenchError(f"the runtime at {base_url} still had queued messages {replay_settings.idle_timeout} s after the catalogue import")

        log.info("placing %d orders with %d workers", len(data.orders), settings.concurrency)
        before = read_stats(api)
        window_started = time.monotonic()
        outcomes = replay_orders(api, data, replay_settings)
        load_seconds = max(outcome.finished for outcome in outcomes) - window_started
        # Releases, commits and retries may still be queued; their calls belong to these checkouts.
        idle_after = wait_until_idle(api, replay_settings)
        after = read_stats(api)
        window_seconds = time.monotonic() - window_started
        measured = usage.measure(before, after, template, len(outcomes))

        log.info("measuring the emulator with %d calls of each kind", settings.ceiling_calls)
        region = os.environ.get("AWS_REGION") or "us-east-1"
        ceiling = measure_ceiling(after["endpointUrl"], after["sqsEndpointUrl"], region, settings.ceiling_calls, settings.concurrency)

    timings = [_timing(outcome, window_started) for outcome in outcomes]
    document = report.build(
        settings=settings,
        target=settings.target or f"{base_url} (in-process runtime)",
        sample={"orders": len(data.orders), "orders_with_lines": len(full.orders), "products": len(data.products), "seed": settings.seed},
        catalogue=catalogue,
        outcomes=outcomes,
        completed=sum(timing.completed for timing in timings),
        api=api,
        load_seconds=load_seconds,
        idle_after=idle_after,
        measured=measured,
        prices=prices,
        status_polls=_status_polls(template, measured, outcomes, prices),
        emulator=_emulator_figures(before, after, window_seconds, ceiling, measured),
        emulator_errors=None if settings.target else {"count": emulator_errors.count, "first": emulator_errors.first_message},
    )
    report.write(document, settings.report)
    chart.write_chart(timings, settings.chart, _chart_title(document))
    return document


def is_completed(outcome: OrderOutcome) -> bool:
    """Return whether the order reached the state its data leads to (or another final one) before the deadline."""
    return not outcome.timed_out and outcome.final_status not in (NOT_ACCEPTED, NO_RESPONSE)


def _timing(outcome: OrderOutcome, window_started: float) -> chart.OrderTiming:
    return chart.OrderTiming(
        started_s=outcome.started - window_started,
        finished_s=outcome.finished - window_started,
        place_order_ms=outcome.place_order_ms,
        to_delivered_ms=outcome.to_delivered_ms,
        completed=is_completed(outcome),
    )


def _status_polls(template: Template, measured: usage.Usage, outcomes: list[OrderOutcome], prices: costs.PriceList) -> dict:
    """Return the part of the cost that the benchmark's own GET /orders polls add: API requests, invocations and their duration.

    Their DynamoDB reads stay in the DynamoDB figures, because the emulator
    does not tell which function made a call.
    """
    name = next(name for name, function in template.functions.items() if any(route.method == "GET" and route.path == ORDER_PATH for route in function.routes))
    polls = sum(outcome.reads for outcome in outcomes) / measured.checkouts
    quantities = {
        "api_gateway_rest_requests": polls,
        "lambda_requests": polls,
        "lambda_gb_seconds": measured.gb_seconds_by_function.get(name, 0.0) / measured.checkouts,
    }
    total = costs.cost_per_million_checkouts(quantities, prices)["total"]
    return {"function": name, "per_checkout": round(polls, 2), "usd_per_million_checkouts": round(total, 4)}


def _emulator_figures(before: dict, after: dict, window_seconds: float, ceiling: dict, measured: usage.Usage) -> dict:
    """Return the emulator's call rates during the load next to its burst rates, and the checkout rate that the DynamoDB rate allows."""
    calls = {service: after["awsCalls"].get(service, 0) - before["awsCalls"].get(service, 0) for service in ("dynamodb", "sqs")}
    rates = {service: round(count / window_seconds, 1) for service, count in calls.items()}
    put_rate = ceiling["dynamodb_put_item"]["per_second"]
    send_rate = ceiling["sqs_send_message"]["per_second"]
    dynamodb_calls_per_checkout = calls["dynamodb"] / measured.checkouts
    return {
        "window_seconds": round(window_seconds, 1),
        "calls": calls,
        "calls_per_second": rates,
        "ceiling": ceiling,
        "share_of_ceiling": {"dynamodb": round(rates["dynamodb"] / put_rate, 3), "sqs": round(rates["sqs"] / send_rate, 3)},
        "dynamodb_calls_per_checkout": round(dynamodb_calls_per_checkout, 2),
        # If every DynamoDB call of a checkout cost as much as a PutItem of the burst.
        "checkouts_per_second_at_dynamodb_ceiling": round(put_rate / dynamodb_calls_per_checkout, 2),
    }


def _chart_title(document: dict) -> str:
    load = document["load"]
    return f"make bench: {load['orders']} Olist orders, {load['concurrency']} at a time, {load['checkouts_per_second']} checkouts/s ({os.cpu_count()} CPUs)"
