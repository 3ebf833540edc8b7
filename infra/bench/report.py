"""Assemble the benchmark's figures into the JSON report and render its table for the terminal."""

from __future__ import annotations

import os
from collections import Counter

from infra.bench.costs import PriceList, cost_per_million_checkouts
from infra.bench.settings import BenchSettings
from infra.bench.usage import Usage
from infra.replay import report as replay_report
from infra.replay.client import ApiClient
from infra.replay.orders import OrderOutcome

write = replay_report.write

# Rows of the cost table: the price name and how the row reads.
COST_ROWS = (
    ("lambda_requests", "Lambda requests"),
    ("lambda_gb_seconds", "Lambda GB-seconds"),
    ("api_gateway_rest_requests", "API Gateway REST requests"),
    ("sqs_standard_requests", "SQS requests (64 KB chunks)"),
    ("dynamodb_read_request_units", "DynamoDB read request units (estimate)"),
    ("dynamodb_write_request_units", "DynamoDB write request units (estimate)"),
    ("dynamodb_streams_read_requests", "DynamoDB Streams GetRecords (Lambda triggers: free)"),
)


def build(
    *,
    settings: BenchSettings,
    target: str,
    sample: dict,
    catalogue: dict,
    outcomes: list[OrderOutcome],
    completed: int,
    api: ApiClient,
    load_seconds: float,
    idle_after: bool,
    measured: Usage,
    prices: PriceList,
    status_polls: dict,
    emulator: dict,
    emulator_errors: dict | None,
) -> dict:
    """Return the report document; its keys are described in docs/benchmarks.md."""
    summary = replay_report.summarize_outcomes(outcomes)
    per_checkout = measured.billable_per_checkout()
    return {
        "target": target,
        "machine": {"cpus": os.cpu_count()},
        "sample": sample,
        "catalogue": catalogue,
        "load": {
            "orders": len(outcomes),
            "concurrency": settings.concurrency,
            "completed": completed,
            "seconds": round(load_seconds, 1),
            "checkouts_per_second": round(completed / load_seconds, 2) if load_seconds > 0 else None,
            "by_status": summary["by_status"],
            "expected": summary["expected"],
            "timeouts": summary["timeouts"],
            "server_errors": api.server_errors,
            "client_errors": dict(api.client_errors.most_common()),
            "error_samples": api.error_samples,
            "idle_after": idle_after,
        },
        "latency_ms": summary["latency_ms"],
        "usage": {
            "totals": measured.as_report(),
            "billable_per_checkout": {name: round(quantity, 6) for name, quantity in per_checkout.items()},
        },
        "cost": {
            "region": prices.region,
            "currency": prices.currency,
            "prices_read_on": prices.read_on,
            "usd_per_million_checkouts": {name: _round(cost) for name, cost in cost_per_million_checkouts(per_checkout, prices).items()},
            "unconfirmed_prices": sorted(name for name, price in prices.prices.items() if price.usd is None),
            # Included in the figures above.
            "status_polls": status_polls,
        },
        "emulator": emulator | {"errors": emulator_errors},
        "settings": settings.as_report(),
    }


def succeeded(document: dict) -> bool:
    """Return whether every order reached its expected state without a server error or a timeout."""
    load = document["load"]
    return load["server_errors"] == 0 and load["timeouts"] == 0 and load["expected"]["mismatched"] == 0


def format_table(document: dict) -> str:
    """Render the report's main figures as aligned text: the run, then usage and cost per checkout, then the emulator."""
    load = document["load"]
    latency = document["latency_ms"]
    totals = document["usage"]["totals"]
    per_checkout = document["usage"]["billable_per_checkout"]
    cost = document["cost"]
    dollars = cost["usd_per_million_checkouts"]
    emulator = document["emulator"]
    ceiling = emulator["ceiling"]
    checkouts = totals["checkouts"]

    run_rows = [
        ("target", document["target"]),
        ("machine", f"{document['machine']['cpus']} CPUs"),
        ("orders", f"{load['orders']} sampled from {document['sample']['orders_with_lines']} Olist orders with lines (seed {document['sample']['seed']}), {load['concurrency']} at a time"),
        ("checkouts completed", f"{load['completed']} in {load['seconds']} s: {load['checkouts_per_second']} checkouts/s"),
        ("final states", _counts(load["by_status"])),
        ("errors", f"{load['server_errors']} server (5xx), client (4xx): {_counts(load['client_errors'])}; {load['timeouts']} timed out"),
        ("place order (ms)", _percentiles(latency["place_order"])),
        ("order to delivered (ms)", _percentiles(latency["order_to_delivered"])),
    ]
    cost_header = ("per checkout", f"$ per million checkouts ({cost['region']}, prices of {cost['prices_read_on']})")
    cost_rows = [(label, _quantity(per_checkout[name]), _dollars(dollars[name])) for name, label in COST_ROWS]
    cost_rows.append(("total", "", _dollars(dollars["total"])))
    polls = cost["status_polls"]
    cost_rows.append(("of which GET /orders polls", _quantity(polls["per_checkout"]), f"{_dollars(polls['usd_per_million_checkouts'])} (API Gateway and Lambda only)"))
    cost_rows.append(("total without the polls", "", _dollars(dollars["total"] - polls["usd_per_million_checkouts"])))
    left_out_rows = [
        ("SQS empty receives", _quantity(totals["sqs_empty_receives"] / checkouts), "depends on pollers and time, not on checkouts"),
        ("SQS runtime checks", _quantity(totals["sqs_runtime_requests"] / checkouts), "the local runtime's own GetQueueAttributes"),
        ("DynamoDB Streams GetRecords", _quantity(totals["dynamodb_streams_read_requests"] / checkouts), "free when a Lambda trigger reads"),
        ("scheduled invocations", str(totals["scheduled_invocations"]), "in total: they follow the clock, not checkouts"),
        ("DynamoDB calls not metered", str(totals["dynamodb_unmetered_calls"]), "in total"),
    ]
    emulator_rows = [
        ("PutItem burst", _burst(ceiling["dynamodb_put_item"])),
        ("SendMessage burst", _burst(ceiling["sqs_send_message"])),
        ("during the load", f"DynamoDB {emulator['calls_per_second']['dynamodb']} calls/s ({_percent(emulator['share_of_ceiling']['dynamodb'])} of the burst), SQS {emulator['calls_per_second']['sqs']} calls/s ({_percent(emulator['share_of_ceiling']['sqs'])})"),
        ("DynamoDB ceiling", f"{emulator['dynamodb_calls_per_checkout']} DynamoDB calls per checkout: at most {emulator['checkouts_per_second_at_dynamodb_ceiling']} checkouts/s at the burst rate"),
        ("moto request failures", _emulator_errors(emulator["errors"])),
    ]

    lines = _aligned(run_rows)
    lines += ["", *_aligned_three([("usage", *cost_header), *cost_rows])]
    lines += ["", *_aligned_three([("left out of the cost", "per checkout", "why"), *left_out_rows])]
    lines += ["", "emulator", *_aligned(emulator_rows)]
    if cost["unconfirmed_prices"]:
        lines.append(f"prices not confirmed: {', '.join(cost['unconfirmed_prices'])}")
    lines.append(f"report: {document['settings']['report']}, chart: {document['settings']['chart']}")
    for sample in load["error_samples"]:
        lines.append(f"  error: {sample['request']} -> {sample['status']} {sample['code']}: {sample['message']}")
    return "\n".join(lines)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in rows)
    return [f"{label.ljust(width)}  {value}" for label, value in rows]


def _aligned_three(rows: list[tuple[str, str, str]]) -> list[str]:
    first = max(len(row[0]) for row in rows)
    second = max(len(row[1]) for row in rows)
    return [f"{label.ljust(first)}  {middle.rjust(second)}  {last}".rstrip() for label, middle, last in rows]


def _burst(burst: dict) -> str:
    rounds = ", ".join(str(rate) for rate in burst["rounds"])
    return f"{burst['per_second']} calls/s, the best of {len(burst['rounds'])} rounds of {burst['calls']} calls ({rounds})"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _quantity(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"


def _dollars(value: float | None) -> str:
    return "unknown price" if value is None else f"${value:,.2f}"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in Counter(counts).most_common()) or "none"


def _percentiles(values: dict[str, float | None]) -> str:
    return ", ".join(f"{name} {'n/a' if value is None else value}" for name, value in values.items())


def _emulator_errors(errors: dict | None) -> str:
    if errors is None:
        return "not counted for a TARGET runtime"
    return f"{errors['count']} (first: {errors['first']})" if errors["count"] else "0"
