"""The CloudWatch dashboard of the stack: the checkout, place-order latency, queues and every function.

The body is JSON inside `!Sub`, so `${Logical.Attribute}` references in it
become the physical names when CloudFormation creates the dashboard.
"""

from __future__ import annotations

import json
from typing import Any

from infra.template.alarms import PAID_ALARM_ID, place_order_dimensions
from infra.template.intrinsics import Sub
from infra.template.metrics import BUSINESS_METRICS, HANDLER_ERRORS, NAMESPACE, QUEUE_MESSAGE_AGE
from infra.template.resources import MonitoredFunction, MonitoredResources

GRID_WIDTH = 24  # CloudWatch dashboards are 24 units wide
REGION = "${AWS::Region}"
ORDER_FLOW = ("OrdersPlaced", "StockReserved", "OrdersPaid", "OrdersShipped", "OrdersDelivered")
ORDER_ENDINGS = ("StockRejected", "PaymentsDeclined", "OrdersExpired", "OrdersCancelled", "OrdersRefunded")


class _Grid:
    """Place widgets left to right, starting a new row when one does not fit."""

    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, width: int, height: int, properties: dict[str, Any], kind: str = "metric") -> None:
        if self._x + width > GRID_WIDTH:
            self.new_row()
        self.widgets.append({"type": kind, "x": self._x, "y": self._y, "width": width, "height": height, "properties": properties})
        self._x += width
        self._row_height = max(self._row_height, height)

    def new_row(self) -> None:
        self._y += self._row_height
        self._x = 0
        self._row_height = 0


def dashboard_resource(resources: MonitoredResources) -> dict[str, Any]:
    """Return the AWS::CloudWatch::Dashboard resource."""
    grid = _Grid()
    grid.add(
        GRID_WIDTH,
        2,
        {
            "markdown": "## Tradewind (stack ${AWS::StackName})\n"
            "Checkout counts come from the functions' Powertools metrics (namespace Tradewind). "
            "Alarms notify the stack's AlarmTopic. `make monitoring` regenerates this dashboard from template.yaml."
        },
        kind="text",
    )
    grid.new_row()
    _add_checkout(grid, resources)
    grid.new_row()
    _add_queues(grid, resources)
    for service, functions in _by_service(resources.functions).items():
        grid.new_row()
        _add_functions(grid, service, functions)

    body = {"start": "-PT3H", "periodOverride": "inherit", "widgets": grid.widgets}
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": Sub("${AWS::StackName}-monitoring"),
            "DashboardBody": Sub(format_json(body) + "\n"),
        },
    }


def _add_checkout(grid: _Grid, resources: MonitoredResources) -> None:
    grid.add(12, 6, _graph("Checkout: orders through the saga (per 5 minutes)", [_business(name) for name in ORDER_FLOW], "Sum", 300))
    grid.add(12, 6, _graph("Checkout: orders that ended early or were reversed (per 5 minutes)", [_business(name) for name in ORDER_ENDINGS], "Sum", 300))

    latency_dimensions = _flatten(place_order_dimensions(resources.place_order))
    latency = [
        ["AWS/ApiGateway", "Latency", *latency_dimensions, {"stat": "p99", "label": "p99"}],
        ["AWS/ApiGateway", "Latency", *latency_dimensions, {"stat": "p50", "label": "p50"}],
        ["AWS/ApiGateway", "IntegrationLatency", *latency_dimensions, {"stat": "p99", "label": "p99 in the function"}],
    ]
    grid.add(8, 6, _graph("POST /orders latency at API Gateway (ms)", latency, "p99", 300))
    grid.add(8, 6, _graph("Reservation conflicts (per 5 minutes)", [_business("ReservationConflicts")], "Sum", 300))
    grid.add(
        8,
        6,
        {
            "title": "Orders paid per order placed, per hour (alarm)",
            "view": "timeSeries",
            "region": REGION,
            "annotations": {"alarms": ["${" + PAID_ALARM_ID + ".Arn}"]},
        },
    )


def _add_queues(grid: _Grid, resources: MonitoredResources) -> None:
    work_queues = resources.work_queues
    grid.add(8, 6, _graph("Messages waiting", [_queue_metric("ApproximateNumberOfMessagesVisible", queue.name) for queue in work_queues], "Maximum", 60))
    grid.add(8, 6, _graph("Age of the oldest message (s)", [_queue_metric("ApproximateAgeOfOldestMessage", queue.name) for queue in work_queues], "Maximum", 60))
    send_to_processing = [
        [NAMESPACE, QUEUE_MESSAGE_AGE, "service", queue.consumer_service, "queue", queue.name, {"label": queue.name}] for queue in work_queues
    ]
    grid.add(8, 6, _graph("Time from send to processing, p99 (ms)", send_to_processing, "p99", 60))

    dead_letter_queues = resources.dead_letter_queues
    grid.add(12, 6, _graph("Dead letters", [_queue_metric("ApproximateNumberOfMessagesVisible", queue.name) for queue in dead_letter_queues], "Maximum", 60))
    grid.add(
        12, 6, _graph("Age of the oldest dead letter (s)", [_queue_metric("ApproximateAgeOfOldestMessage", queue.name) for queue in dead_letter_queues], "Maximum", 300)
    )


def _add_functions(grid: _Grid, service: str, functions: list[MonitoredFunction]) -> None:
    def lambda_metric(metric: str, function: MonitoredFunction, **options: str) -> list[Any]:
        return ["AWS/Lambda", metric, "FunctionName", "${" + function.name + "}", {"label": _short(function.name), **options}]

    errors = [lambda_metric("Errors", function) for function in functions]
    errors += [
        [NAMESPACE, HANDLER_ERRORS, "service", function.service, "function", function.name, {"label": f"{_short(function.name)} (caught)"}]
        for function in functions
    ]
    grid.add(6, 6, _graph(f"{service}: invocations", [lambda_metric("Invocations", function) for function in functions], "Sum", 60))
    grid.add(6, 6, _graph(f"{service}: errors", errors, "Sum", 60))
    grid.add(6, 6, _graph(f"{service}: throttles", [lambda_metric("Throttles", function) for function in functions], "Sum", 60))
    grid.add(6, 6, _graph(f"{service}: duration, p99 (ms)", [lambda_metric("Duration", function) for function in functions], "p99", 60))


def _by_service(functions: list[MonitoredFunction]) -> dict[str, list[MonitoredFunction]]:
    """Group functions by service, the services in the order of their first function in the template."""
    groups: dict[str, list[MonitoredFunction]] = {}
    for function in functions:
        groups.setdefault(function.service, []).append(function)
    return groups


def _graph(title: str, metrics: list[list[Any]], stat: str, period: int) -> dict[str, Any]:
    return {"title": title, "view": "timeSeries", "stacked": False, "region": REGION, "stat": stat, "period": period, "metrics": metrics}


def _business(metric: str) -> list[Any]:
    return [NAMESPACE, metric, "service", BUSINESS_METRICS[metric], {"label": metric}]


def _queue_metric(metric: str, queue: str) -> list[Any]:
    return ["AWS/SQS", metric, "QueueName", "${" + queue + ".QueueName}", {"label": queue}]


def _flatten(dimensions: dict[str, Any]) -> list[str]:
    """Turn dimensions into the name, value, name, value list of a dashboard metric."""
    flat = []
    for name, value in dimensions.items():
        flat += [name, str(value)]
    return flat


def _short(function: str) -> str:
    return function.removesuffix("Function")


def format_json(value: Any, indent: int = 0) -> str:
    """Write JSON with one metric or one widget's settings per line.

    A dict or list that holds only scalars, or lists and dicts of scalars,
    stays on one line. A deeper dict writes its scalar entries together on
    one line and each other entry on a line of its own. A deeper list writes
    a line per item.
    """
    if _is_flat(value):
        return json.dumps(value, ensure_ascii=False)
    padding = "  " * (indent + 1)
    lines = []
    if isinstance(value, dict):
        scalars = []
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                lines.append(f"{padding}{json.dumps(key)}: {format_json(item, indent + 1)}")
            else:
                scalars.append(f"{json.dumps(key)}: {json.dumps(item, ensure_ascii=False)}")
        if scalars:
            lines.insert(0, padding + ", ".join(scalars))
        return "{\n" + ",\n".join(lines) + "\n" + "  " * indent + "}"
    lines = [padding + format_json(item, indent + 1) for item in value]
    return "[\n" + ",\n".join(lines) + "\n" + "  " * indent + "]"


def _is_flat(value: Any, depth: int = 0) -> bool:
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return True
    return depth < 2 and all(_is_flat(child, depth + 1) for child in children)
