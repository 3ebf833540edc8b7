"""Turn the outcomes of a replay into the report: a JSON document and a printed table."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from infra.replay.orders import OrderOutcome

MAX_MISMATCHES = 20
PERCENTILES = (50, 95, 99)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Return p50, p95 and p99 by the nearest-rank method, rounded to 0.1; None for no values."""
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for percentile in PERCENTILES:
        if not ordered:
            result[f"p{percentile}"] = None
            continue
        rank = max(1, math.ceil(percentile / 100 * len(ordered)))
        result[f"p{percentile}"] = round(ordered[rank - 1], 1)
    return result


def summarize_outcomes(outcomes: list[OrderOutcome]) -> dict:
    """Count final states, compare them with the expected ones, and collect latencies."""
    by_status = Counter(outcome.final_status for outcome in outcomes)
    set_aside: dict[str, Counter[str]] = defaultdict(Counter)
    mismatches = []
    matched = 0
    for outcome in outcomes:
        if outcome.expected is None:
            set_aside[outcome.olist_status][outcome.final_status] += 1
        elif outcome.final_status == outcome.expected:
            matched += 1
        else:
            mismatches.append(outcome)
    return {
        "orders": len(outcomes),
        "by_status": dict(by_status.most_common()),
        "expected": {
            "matched": matched,
            "mismatched": len(mismatches),
            "mismatches": [
                {"orderId": outcome.order_id, "olistOrderId": outcome.olist_order_id, "olistStatus": outcome.olist_status, "expected": outcome.expected, "actual": outcome.final_status}
                for outcome in mismatches[:MAX_MISMATCHES]
            ],
        },
        "set_aside": {status: dict(states.most_common()) for status, states in sorted(set_aside.items())},
        "timeouts": sum(outcome.timed_out for outcome in outcomes),
        "latency_ms": {
            "place_order": percentiles([outcome.place_order_ms for outcome in outcomes if outcome.place_order_ms is not None]),
            "order_to_delivered": percentiles([outcome.to_delivered_ms for outcome in outcomes if outcome.to_delivered_ms is not None]),
        },
    }


def stats_delta(before: dict, after: dict, orders: int) -> dict:
    """Divide the runtime's AWS calls and function invocations during the order phase by the number of orders."""
    invocations = {name: counts["count"] - before["invocations"].get(name, {}).get("count", 0) for name, counts in after["invocations"].items()}
    errors = {name: counts["errors"] - before["invocations"].get(name, {}).get("errors", 0) for name, counts in after["invocations"].items()}
    per_order: dict[str, float | None] = {}
    for service in ("dynamodb", "sqs"):
        # A runtime started with AWS_ENDPOINT_URL does not count AWS calls, so it reports none.
        if after.get("awsCalls") is None:
            per_order[service] = None
        else:
            calls = after["awsCalls"].get(service, 0) - (before.get("awsCalls") or {}).get(service, 0)
            per_order[service] = _ratio(calls, orders)
    per_order["lambda_invocations"] = _ratio(sum(invocations.values()), orders)
    return {
        "aws_calls_per_order": per_order,
        "invocations": {name: count for name, count in sorted(invocations.items()) if count},
        "function_errors": {name: count for name, count in sorted(errors.items()) if count},
    }


def _ratio(total: float, orders: int) -> float | None:
    return round(total / orders, 2) if orders else None


def succeeded(report: dict) -> bool:
    audit_clean = report.get("audit") is None or report["audit"]["exit_code"] == 0
    return report["server_errors"] == 0 and report["expected"]["mismatched"] == 0 and audit_clean


def write(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def format_table(report: dict) -> str:
    """Render the main figures of a report as aligned text rows."""
    latency = report["latency_ms"]
    per_order = report["aws_calls_per_order"]
    rows = [
        ("target", report["target"]),
        ("products imported", f"{report['catalogue']['imported']} of {report['catalogue']['products']} in {report['catalogue']['duration_seconds']} s"),
        ("orders replayed", f"{report['orders']} ({report['skipped_without_lines']} without lines skipped)"),
        ("order phase", f"{report['duration_seconds']} s, {report['orders_per_second']} orders/s"),
        ("server errors (5xx)", str(report["server_errors"])),
        ("client errors (4xx)", _counts(report["client_errors"])),
        ("final states", _counts(report["by_status"])),
        ("expected state", f"{report['expected']['matched']} matched, {report['expected']['mismatched']} mismatched, {report['timeouts']} timed out"),
        ("set aside", "; ".join(f"{status}: {_counts(states)}" for status, states in report["set_aside"].items()) or "none"),
        ("place order (ms)", _percentiles(latency["place_order"])),
        ("order to delivered (ms)", _percentiles(latency["order_to_delivered"])),
        ("AWS calls per order", ", ".join(f"{name} {_value(value)}" for name, value in per_order.items())),
        ("GET /orders per order", _value(report["order_reads_per_order"])),
        ("function errors", _counts(report["function_errors"])),
        ("moto request failures", _emulator_errors(report["emulator_errors"])),
        ("queues drained after", "yes" if report["idle_after_replay"] else f"no, messages were still queued after {report['settings']['idle_timeout']} s"),
        ("audit", _audit_line(report.get("audit"))),
        ("report", report["settings"]["report"]),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    for mismatch in report["expected"]["mismatches"]:
        lines.append(f"  mismatch: {mismatch['olistOrderId']} ({mismatch['olistStatus']}) expected {mismatch['expected']}, got {mismatch['actual']}")
    for sample in report["error_samples"]:
        lines.append(f"  error: {sample['request']} -> {sample['status']} {sample['code']}: {sample['message']}")
    return "\n".join(lines)


def _emulator_errors(errors: dict | None) -> str:
    if errors is None:
        return "not counted for a TARGET runtime"
    return f"{errors['count']} (first: {errors['first']})" if errors["count"] else "0"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def _percentiles(values: dict[str, float | None]) -> str:
    return ", ".join(f"{name} {_value(value)}" for name, value in values.items())


def _value(value: float | None) -> str:
    return "n/a" if value is None else str(value)


def _audit_line(audit: dict | None) -> str:
    if audit is None:
        return "not run (TARGET set: run `make audit` against it)"
    if audit["exit_code"] == 0:
        return f"no violations ({audit['report']})"
    return f"violations {audit['violations_by_code']} ({audit['report']})"
