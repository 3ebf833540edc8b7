"""CloudWatch alarms for every function and queue of the template, and for the checkout as a whole.

Every alarm notifies AlarmTopic, and treats missing data as not breaching,
because a function or queue without traffic publishes no data points.
"""

from __future__ import annotations

from typing import Any

from infra.template.intrinsics import GetAtt, Ref, Sub
from infra.template.metrics import BUSINESS_METRICS, NAMESPACE
from infra.template.resources import PLACE_ORDER_ROUTE, DeadLetterQueue, MonitoredFunction, MonitoredResources, PlaceOrderRoute, WorkQueue

ALARM_TOPIC = "AlarmTopic"
LATENCY_THRESHOLD_PARAMETER = "PlaceOrderLatencyThreshold"
LATENCY_ALARM_ID = "PlaceOrderLatencyAlarm"
PAID_ALARM_ID = "OrdersPaidBelowPlacedAlarm"

# Errors and throttles in 2 of 3 minutes: one crashed invocation, which
# Lambda or SQS retries, does not page anyone, but a failure that persists does.
FUNCTION_PERIOD = 60
FUNCTION_EVALUATION_PERIODS = 3
FUNCTION_DATAPOINTS_TO_ALARM = 2

# The depth alarm fires on the first dead letter and then stays in ALARM
# without notifying again. The age alarm notifies a second time when a dead
# letter has waited a day.
DEAD_LETTER_MAX_AGE = 86400  # seconds

# p99 over 5 minutes, in 2 of 3 periods. With little traffic p99 is close to
# the slowest request, a cold start included.
LATENCY_PERIOD = 300
LATENCY_EVALUATION_PERIODS = 3
LATENCY_DATAPOINTS_TO_ALARM = 2

# Orders paid per order placed over an hour. Some orders are never paid
# (declined, out of stock, expired), and orders placed late in one hour are
# paid in the next, so only a ratio far below 1 means the saga is stuck. An hour
# with fewer orders than the minimum is not judged.
PAID_RATIO_PERIOD = 3600
PAID_RATIO_THRESHOLD = 0.5
PAID_RATIO_MINIMUM_ORDERS = 20


def alarm_resources(resources: MonitoredResources) -> dict[str, dict[str, Any]]:
    """Return the alarms by logical id, in a fixed order: functions, queues, then the checkout."""
    alarms: dict[str, dict[str, Any]] = {}
    for function in resources.functions:
        if function.is_authorizer:
            alarms[f"{function.name}ErrorsAlarm"] = _authorizer_errors_alarm(function)
        else:
            alarms[f"{function.name}ErrorsAlarm"] = _function_alarm(function, "Errors", "raised an error or timed out")
        alarms[f"{function.name}ThrottlesAlarm"] = _function_alarm(function, "Throttles", "was throttled")
    for queue in resources.work_queues:
        alarms[f"{queue.name}AgeAlarm"] = _work_queue_age_alarm(queue)
    for queue in resources.dead_letter_queues:
        stem = queue.name.removesuffix("Queue")
        alarms[f"{stem}Alarm"] = _dead_letter_depth_alarm(queue)
        alarms[f"{stem}AgeAlarm"] = _dead_letter_age_alarm(queue)
    alarms[LATENCY_ALARM_ID] = _place_order_latency_alarm(resources.place_order)
    alarms[PAID_ALARM_ID] = _orders_paid_alarm()
    return alarms


def _function_alarm(function: MonitoredFunction, metric: str, what_happened: str) -> dict[str, Any]:
    return _alarm(
        Sub(
            f"{function.name} {what_happened} in {FUNCTION_DATAPOINTS_TO_ALARM} of the last {FUNCTION_EVALUATION_PERIODS} minutes; "
            f"its log group /aws/lambda/${{{function.name}}} has the details."
        ),
        _metric("AWS/Lambda", metric, {"FunctionName": Ref(function.name)}, "Sum"),
        period=FUNCTION_PERIOD,
        evaluation_periods=FUNCTION_EVALUATION_PERIODS,
        datapoints_to_alarm=FUNCTION_DATAPOINTS_TO_ALARM,
        threshold=0,
    )


def _authorizer_errors_alarm(function: MonitoredFunction) -> dict[str, Any]:
    """Alarm on the authorizer's own HandlerErrors (an unreachable key set), not on rejected tokens."""
    return _alarm(
        Sub(
            f"{function.name} failed to verify tokens (HandlerErrors) in {FUNCTION_DATAPOINTS_TO_ALARM} of the last {FUNCTION_EVALUATION_PERIODS} minutes; "
            f"its log group /aws/lambda/${{{function.name}}} has the details."
        ),
        _metric(NAMESPACE, "HandlerErrors", {"service": function.service, "function": function.name}, "Sum"),
        period=FUNCTION_PERIOD,
        evaluation_periods=FUNCTION_EVALUATION_PERIODS,
        datapoints_to_alarm=FUNCTION_DATAPOINTS_TO_ALARM,
        threshold=0,
    )


def _work_queue_age_alarm(queue: WorkQueue) -> dict[str, Any]:
    # Twice the time a failing message takes to reach the dead-letter queue, so
    # that only a backlog trips it. A message that keeps failing is the
    # dead-letter alarm's job.
    threshold = 2 * queue.retry_window
    return _alarm(
        f"The oldest message of {queue.name} is over {threshold} s old for 3 minutes: its consumer is failing, throttled or behind.",
        _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": GetAtt(f"{queue.name}.QueueName")}, "Maximum"),
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        threshold=threshold,
    )


def _dead_letter_depth_alarm(queue: DeadLetterQueue) -> dict[str, Any]:
    return _alarm(
        queue.arrival,
        _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": GetAtt(f"{queue.name}.QueueName")}, "Maximum"),
        period=60,
        evaluation_periods=1,
        threshold=0,
    )


def _dead_letter_age_alarm(queue: DeadLetterQueue) -> dict[str, Any]:
    return _alarm(
        # SQS counts a message's retention from its first send, not from its move to the dead-letter queue.
        f"A message has waited in {queue.name} for over a day; SQS deletes it {queue.retention_period // 86400} days after it was first sent.",
        _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": GetAtt(f"{queue.name}.QueueName")}, "Maximum"),
        period=300,
        evaluation_periods=1,
        threshold=DEAD_LETTER_MAX_AGE,
    )


def _place_order_latency_alarm(route: PlaceOrderRoute) -> dict[str, Any]:
    # Per-method API Gateway metrics exist only with detailed metrics enabled
    # for the method (MethodSettings MetricsEnabled in template.yaml).
    metric = _metric("AWS/ApiGateway", "Latency", place_order_dimensions(route), statistic=None)
    metric["ExtendedStatistic"] = "p99"
    return _alarm(
        Sub(
            f"The p99 latency of POST /orders at API Gateway was over ${{{LATENCY_THRESHOLD_PARAMETER}}} ms "
            f"in {LATENCY_DATAPOINTS_TO_ALARM} of the last {LATENCY_EVALUATION_PERIODS} 5-minute periods."
        ),
        metric,
        period=LATENCY_PERIOD,
        evaluation_periods=LATENCY_EVALUATION_PERIODS,
        datapoints_to_alarm=LATENCY_DATAPOINTS_TO_ALARM,
        threshold=Ref(LATENCY_THRESHOLD_PARAMETER),
    )


def place_order_dimensions(route: PlaceOrderRoute) -> dict[str, Any]:
    """Return the dimensions of API Gateway's per-method metrics of POST /orders."""
    method, path = PLACE_ORDER_ROUTE
    api_name = Sub(route.api_name) if "${" in route.api_name else route.api_name
    return {"ApiName": api_name, "Method": method, "Resource": path, "Stage": route.stage}


def _orders_paid_alarm() -> dict[str, Any]:
    def count(query_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": [{"Name": "service", "Value": BUSINESS_METRICS[metric]}]},
                "Period": PAID_RATIO_PERIOD,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    # NOTE: FILL gives an hour with orders placed but none paid a ratio of 0;
    # whether it does so when OrdersPaid has no data point at all in the
    # alarm's window has not been tried against CloudWatch.
    ratio = {
        "Id": "paidPerPlaced",
        "Expression": f"IF(placed >= {PAID_RATIO_MINIMUM_ORDERS}, FILL(paid, 0) / placed, 1)",
        "Label": "Orders paid per order placed",
        "ReturnData": True,
    }
    properties = {
        "AlarmDescription": f"Under {PAID_RATIO_THRESHOLD:.0%} of the orders placed in the last hour were paid "
        f"(judged from {PAID_RATIO_MINIMUM_ORDERS} orders an hour): check the payment provider, CapturePaymentQueue and the order events.",
        "Metrics": [count("placed", "OrdersPlaced"), count("paid", "OrdersPaid"), ratio],
        "EvaluationPeriods": 1,
        "Threshold": PAID_RATIO_THRESHOLD,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [Ref(ALARM_TOPIC)],
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _metric(namespace: str, name: str, dimensions: dict[str, Any], statistic: str | None) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
    }
    if statistic is not None:
        metric["Statistic"] = statistic
    return metric


def _alarm(
    description: str | Sub,
    metric: dict[str, Any],
    *,
    period: int,
    evaluation_periods: int,
    threshold: float | Ref,
    datapoints_to_alarm: int | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {"AlarmDescription": description, **metric, "Period": period, "EvaluationPeriods": evaluation_periods}
    if datapoints_to_alarm is not None:
        properties["DatapointsToAlarm"] = datapoints_to_alarm
    properties |= {
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [Ref(ALARM_TOPIC)],
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}
