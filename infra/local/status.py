"""The local runtime's status: queues, orders, functions, metrics and recent errors.

The runtime serves it as JSON at `/_runtime/status` and as a small HTML page
at `/_runtime/`. `python -m infra.local.status` (`make status`) prints it in
the terminal from a running runtime on `PORT`.
"""

from __future__ import annotations

import html
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime

STATUS_PATH = "/_runtime/status"
# The business metrics of the contract with the dashboard, shown even before they are first emitted.
BUSINESS_METRICS = (
    "OrdersPlaced",
    "StockReserved",
    "StockRejected",
    "OrdersPaid",
    "PaymentsDeclined",
    "OrdersShipped",
    "OrdersDelivered",
    "OrdersExpired",
    "OrdersCancelled",
    "OrdersRefunded",
    "ReservationConflicts",
)
# The page reloads itself this often, in seconds.
REFRESH_SECONDS = 5


class StatusPage:
    """The status of a running LocalRuntime, as JSON and as HTML."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime
        self._dynamodb: Any = None

    def json(self, query: dict) -> tuple[int, dict]:
        return 200, self.document()

    def html(self, query: dict) -> tuple[int, str]:
        return 200, render_html(self.document())

    def document(self) -> dict:
        """Return the status as a JSON-ready document."""
        runtime = self._runtime
        metrics = runtime.telemetry.metrics
        ages = _queue_ages(metrics.series())
        dead_letter = self._dead_letter_queues()
        queues, dead_letter_queues = [], []
        for name, depth in sorted(runtime.queue_depths().items()):
            entry = {"name": name, "visible": depth.get("Visible", 0), "inFlight": depth.get("NotVisible", 0), "delayed": depth.get("Delayed", 0)}
            if name in dead_letter:
                dead_letter_queues.append(entry)
                continue
            entry["deadLetterQueue"] = runtime.deployment.dead_letter_queues.get(name)
            entry["messageAgeMs"] = ages.get(name)
            queues.append(entry)

        handler_errors = _handler_errors(metrics.series())
        functions = [
            {"name": name, "invocations": function.invocations, "errors": function.errors, "handlerErrors": handler_errors.get(name, 0)}
            for name, function in sorted(runtime.functions.items())
        ]
        totals = metrics.totals("Count")
        orders, orders_error = self._orders_by_status()
        document = {
            "uptimeSeconds": round(time.time() - runtime.started_at, 1),
            "queues": queues,
            "deadLetterQueues": dead_letter_queues,
            "orders": orders,
            "functions": functions,
            "businessMetrics": {name: totals.get(name, 0) for name in BUSINESS_METRICS},
            "metrics": [series.to_json() for series in metrics.series()],
            "recentErrors": runtime.telemetry.recent_errors(),
        }
        if orders_error:
            document["ordersError"] = orders_error
        return document

    def _dead_letter_queues(self) -> set[str]:
        runtime = self._runtime
        on_failure = {source.on_failure_queue for function in runtime.template.functions.values() for source in function.stream_sources if source.on_failure_queue}
        return set(runtime.deployment.dead_letter_queues.values()) | on_failure

    def _orders_by_status(self) -> tuple[dict[str, int], str | None]:
        """Count the orders per status with a scan of the orders table; returns the counts and an error message."""
        from botocore.exceptions import BotoCoreError, ClientError

        table = self._runtime.deployment.table_names.get("OrdersTable")
        if table is None:
            return {}, "the template has no OrdersTable"
        counts: dict[str, int] = {}
        arguments = {"TableName": table, "ProjectionExpression": "#status", "ExpressionAttributeNames": {"#status": "status"}}
        try:
            while True:
                page = self._client().scan(**arguments)
                for item in page.get("Items", []):
                    status = item.get("status", {}).get("S", "UNKNOWN")
                    counts[status] = counts.get(status, 0) + 1
                if "LastEvaluatedKey" not in page:
                    return dict(sorted(counts.items())), None
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as error:
            return dict(sorted(counts.items())), f"scan of {table} failed: {error}"

    def _client(self) -> Any:
        if self._dynamodb is None:
            import boto3

            self._dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=self._runtime.endpoint_url)
        return self._dynamodb


def _queue_ages(series: list) -> dict[str, dict]:
    ages: dict[str, dict] = {}
    for entry in series:
        queue = entry.dimensions.get("queue")
        if entry.name == "QueueMessageAge" and queue and entry.samples:
            ages[queue] = {"average": round(entry.sum / entry.samples), "maximum": round(entry.maximum)}
    return ages


def _handler_errors(series: list) -> dict[str, int]:
    errors: dict[str, int] = {}
    for entry in series:
        function = entry.dimensions.get("function")
        if entry.name == "HandlerErrors" and function:
            errors[function] = errors.get(function, 0) + int(entry.sum)
    return errors


@dataclass
class Section:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]


def sections(document: dict) -> list[Section]:
    """Arrange a status document as titled tables, for the HTML page and the terminal."""

    def age(queue: dict, key: str) -> Any:
        return (queue.get("messageAgeMs") or {}).get(key, "")

    orders = document.get("orders") or {}
    order_rows = [(status, count) for status, count in orders.items()] + [("total", sum(orders.values()))]
    if document.get("ordersError"):
        order_rows.append(("error", document["ordersError"]))
    return [
        Section(
            "Queues",
            ("queue", "visible", "in flight", "delayed", "dead-letter queue", "average age ms", "max age ms"),
            [(q["name"], q["visible"], q["inFlight"], q["delayed"], q.get("deadLetterQueue") or "", age(q, "average"), age(q, "maximum")) for q in document["queues"]],
        ),
        Section("Dead-letter queues", ("queue", "visible", "in flight", "delayed"), [(q["name"], q["visible"], q["inFlight"], q["delayed"]) for q in document["deadLetterQueues"]]),
        Section("Orders by status", ("status", "orders"), order_rows),
        Section(
            "Functions",
            ("function", "invocations", "errors", "HandlerErrors"),
            [(f["name"], f["invocations"], f["errors"], f["handlerErrors"]) for f in document["functions"]],
        ),
        Section("Business metrics", ("metric", "total"), [(name, _number(total)) for name, total in document["businessMetrics"].items()]),
        Section(
            "Recent errors",
            ("time", "function", "error", "message", "correlation id", "order id"),
            [(e.get("time", ""), e.get("function", ""), e.get("type", ""), e.get("message", ""), e.get("correlationId", ""), e.get("orderId", "")) for e in document["recentErrors"]],
        ),
    ]


def render_text(document: dict) -> str:
    """Render a status document as plain-text tables."""
    blocks = [f"uptime {document['uptimeSeconds']} s"]
    for section in sections(document):
        rows = [tuple(str(cell) for cell in row) for row in section.rows]
        widths = [max(len(cell) for cell in column) for column in zip(section.headers, *rows)]
        lines = [section.title, "  ".join(header.ljust(width) for header, width in zip(section.headers, widths)).rstrip()]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        if not rows:
            lines.append("(none)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_html(document: dict) -> str:
    """Render a status document as one HTML page without scripts or external assets."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">',
        "<title>Tradewind local runtime</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:1.5rem}"
        "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}th{background:#f3f3f3}</style>",
        "</head><body>",
        "<h1>Tradewind local runtime</h1>",
        f"<p>Up {html.escape(str(document['uptimeSeconds']))} s. JSON: <a href=\"status\">status</a>.</p>",
    ]
    for section in sections(document):
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if not section.rows:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(header)}</th>" for header in section.headers) + "</tr>")
        for row in section.rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else value


def main() -> int:
    """Print the status of the runtime on PORT; returns 2 when none responds."""
    from infra.ops.connection import runtime_url

    url = runtime_url() + STATUS_PATH
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            document = json.load(response)
    except urllib.error.HTTPError as error:
        print(f"status failed: {url} returned HTTP {error.code}: {error.read()[:300]!r}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, OSError) as error:
        print(f"status failed: no local runtime responded at {url} ({error}); start one with `make run`, or set PORT to the port it listens on", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"status failed: {url} did not return JSON ({error}); is PORT the port of a Tradewind runtime?", file=sys.stderr)
        return 2
    print(render_text(document), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
