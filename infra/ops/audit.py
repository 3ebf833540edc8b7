"""Check the running stack's tables against the consistency rules in `infra.ops.rules`.

Usage: python -m infra.ops.audit [--stack-name NAME] [--endpoint-url URL] [--grace-seconds N] [--report PATH]

Prints one line per violation and a summary line. Exits 0 when the tables
are consistent, 1 when any rule is broken, and 2 when the endpoint or the
tables cannot be reached. Run it while the system is idle (`make run` with
no traffic), because messages still in flight look like violations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.guard import NonLocalEndpoint
from infra.ops import rules
from infra.ops.connection import DEFAULT_STACK_NAME, START_HINT, EndpointUnavailable, aws_client, fetch_runtime_json, resolve_endpoint
from shared.aws import from_item

TABLES = ("OrdersTable", "InventoryTable", "PaymentsTable")


class TablesUnavailable(Exception):
    """A table cannot be read. The message names the table and the next step."""


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.audit", description="Check the local stack's tables for inconsistent orders, stock and money.")
    parser.add_argument("--stack-name", default=os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME, help="prefix of the table names (default: STACK_NAME or tradewind)")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint on loopback (default: AWS_ENDPOINT_URL, else the one the runtime on PORT reports)")
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=os.environ.get("OVERDUE_GRACE_SECONDS") or str(rules.DEFAULT_GRACE.total_seconds()),
        help="seconds past paymentDeadline before an unpaid order counts as OVERDUE (default: OVERDUE_GRACE_SECONDS or 120)",
    )
    parser.add_argument("--report", default=os.environ.get("REPORT") or None, help="also write the result as JSON to this path (default: REPORT)")
    parser.add_argument("--idle-timeout", type=float, default=30, help="seconds to wait for the runtime's queues to drain before reading (default: 30)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        endpoint = resolve_endpoint(arguments.endpoint_url)
    except (EndpointUnavailable, NonLocalEndpoint) as error:
        print(f"audit failed: {error}", file=sys.stderr)
        return 2

    # Only a runtime that was found through its stats page is known to serve this endpoint.
    if not (arguments.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        _wait_for_idle(arguments.idle_timeout)

    try:
        tables = read_tables(aws_client("dynamodb", endpoint), arguments.stack_name)
    except TablesUnavailable as error:
        print(f"audit failed: {error}", file=sys.stderr)
        return 2

    data = rules.Dataset.from_tables(tables["OrdersTable"], tables["InventoryTable"], tables["PaymentsTable"])
    now = datetime.now(timezone.utc)
    violations = rules.check_all(data, now, timedelta(seconds=arguments.grace_seconds))
    totals = rules.money_totals(data.orders, data.payments)

    for violation in violations:
        print(violation.line())
    print(summary_line(data, violations, totals))

    if arguments.report:
        report = build_report(data, violations, totals, now, endpoint, arguments.stack_name)
        Path(arguments.report).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if violations else 0


def read_tables(dynamodb: Any, stack_name: str) -> dict[str, list[dict]]:
    """Scan each audited table completely with consistent reads. Raises TablesUnavailable when one cannot be read."""
    items = {}
    for logical_id in TABLES:
        table_name = f"{stack_name}-{logical_id}"
        try:
            items[logical_id] = scan(dynamodb, table_name)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ResourceNotFoundException":
                raise TablesUnavailable(f"table {table_name} not found: check STACK_NAME ({stack_name!r}), or {START_HINT}") from error
            raise TablesUnavailable(f"reading table {table_name} failed with {code}: {error}") from error
        except BotoCoreError as error:
            raise TablesUnavailable(f"cannot reach the AWS endpoint ({error}); {START_HINT}") from error
    return items


def scan(dynamodb: Any, table_name: str) -> list[dict]:
    """Return every item of a table as plain values, without the outbox attribute, which no rule reads."""
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for item in page.get("Items", []):
            item.pop("outbox", None)
            items.append(from_item(item))
    return items


def summary_line(data: rules.Dataset, violations: list[rules.Violation], totals: dict[str, rules.MoneyTotals]) -> str:
    counts = f"{len(data.orders)} orders, {len(data.products)} products, {len(data.reservations)} reservations, {len(data.payments)} payments"
    money = "; ".join(f"{currency} captured net {total.captured_net}, paid orders {total.paid_orders}" for currency, total in totals.items())
    by_code = ", ".join(f"{code} {count}" for code, count in _count_by_code(violations).items())
    noun = "violation" if len(violations) == 1 else "violations"
    outcome = f"{len(violations)} {noun} ({by_code})" if violations else "no violations"
    return f"summary: {outcome}; read {counts}" + (f"; {money}" if money else "")


def build_report(
    data: rules.Dataset,
    violations: list[rules.Violation],
    totals: dict[str, rules.MoneyTotals],
    now: datetime,
    endpoint: str,
    stack_name: str,
) -> dict:
    return {
        "checkedAt": now.isoformat(),
        "endpointUrl": endpoint,
        "stackName": stack_name,
        "counts": {"orders": len(data.orders), "products": len(data.products), "reservations": len(data.reservations), "payments": len(data.payments)},
        "money": {currency: {"capturedNet": total.captured_net, "paidOrders": total.paid_orders} for currency, total in totals.items()},
        "violationsByCode": _count_by_code(violations),
        "violations": [violation.to_json() for violation in violations],
    }


def _count_by_code(violations: list[rules.Violation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation.code] = counts.get(violation.code, 0) + 1
    return counts


def _wait_for_idle(timeout: float) -> None:
    """Wait until the runtime's queues are drained, and print a warning if they are not."""
    try:
        answer = fetch_runtime_json(f"/_runtime/idle?timeout={timeout:g}", timeout=timeout + 5)
    except EndpointUnavailable as error:
        print(f"warning: could not check that the runtime is idle: {error}", file=sys.stderr)
        return
    if not answer.get("idle"):
        print(f"warning: queues still contain messages after {timeout:g} s, so in-flight orders may show as violations", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
