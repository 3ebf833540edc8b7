"""The alarms, the dashboard and the tracing settings of template.yaml cover every function and queue."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from infra.local.runtime import ROOT
from infra.local.template import _CloudFormationLoader, load
from infra.template import monitoring
from infra.template.metrics import BUSINESS_METRICS, CUSTOM_METRICS, NAMESPACE

TEMPLATE_PATH = ROOT / "template.yaml"
TEMPLATE = load(TEMPLATE_PATH)
DOCUMENT = yaml.load(TEMPLATE_PATH.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)
RESOURCES = DOCUMENT["Resources"]
ALARMS = {name: resource["Properties"] for name, resource in RESOURCES.items() if resource["Type"] == "AWS::CloudWatch::Alarm"}
DASHBOARDS = [resource["Properties"] for resource in RESOURCES.values() if resource["Type"] == "AWS::CloudWatch::Dashboard"]
FUNCTIONS = sorted(TEMPLATE.functions)
DEAD_LETTER_QUEUES = sorted(
    {properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for properties in TEMPLATE.queues.values() if "RedrivePolicy" in properties}
    | {stream.on_failure_queue for function in TEMPLATE.functions.values() for stream in function.stream_sources if stream.on_failure_queue}
)
WORK_QUEUES = sorted({source.queue for function in TEMPLATE.functions.values() for source in function.queue_sources})
SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def alarms_on(namespace: str, metric: str, dimension: str, value: object) -> list[str]:
    """Return the alarms that watch `metric` with `dimension` set to `value`."""
    return [
        name
        for name, properties in ALARMS.items()
        if properties.get("Namespace") == namespace
        and properties.get("MetricName") == metric
        and {"Name": dimension, "Value": value} in properties.get("Dimensions", [])
    ]


def test_generated_region_is_up_to_date():
    head, region, tail = monitoring.split_template(TEMPLATE_PATH.read_text())

    expected = monitoring.render_region(head + tail)

    assert region == expected, "the alarms and dashboard in template.yaml are stale: run `make monitoring` and commit template.yaml"


AUTHORIZERS = sorted({authorizer.function for api in TEMPLATE.apis.values() for authorizer in api.authorizers.values()})


# An authorizer's Errors include every rejected token, so its errors alarm watches HandlerErrors instead.
@pytest.mark.parametrize(
    ("function", "metric"),
    [(function, metric) for function in FUNCTIONS for metric in ("Errors", "Throttles") if not (metric == "Errors" and function in AUTHORIZERS)],
)
def test_function_has_alarm(function, metric):
    alarms = alarms_on("AWS/Lambda", metric, "FunctionName", {"Ref": function})

    assert len(alarms) == 1, f"{function} needs one {metric} alarm, has {alarms}"
    assert ALARMS[alarms[0]]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("function", AUTHORIZERS)
def test_authorizer_alarms_on_handler_errors(function):
    lambda_errors = alarms_on("AWS/Lambda", "Errors", "FunctionName", {"Ref": function})
    handler_errors = alarms_on("Tradewind", "HandlerErrors", "function", function)

    assert lambda_errors == []
    assert len(handler_errors) == 1
    assert ALARMS[handler_errors[0]]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("queue", DEAD_LETTER_QUEUES)
@pytest.mark.parametrize("metric", ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"])
def test_dead_letter_queue_has_alarm(queue, metric):
    alarms = alarms_on("AWS/SQS", metric, "QueueName", {"Fn::GetAtt": [queue, "QueueName"]})

    assert len(alarms) == 1, f"{queue} needs one {metric} alarm, has {alarms}"
    assert ALARMS[alarms[0]]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_dead_letter_depth_alarm_fires_on_first_message():
    for queue in DEAD_LETTER_QUEUES:
        (alarm,) = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]})

        assert ALARMS[alarm]["Threshold"] == 0, queue
        assert ALARMS[alarm]["ComparisonOperator"] == "GreaterThanThreshold", queue


@pytest.mark.parametrize("queue", WORK_QUEUES)
def test_work_queue_age_alarm_outlasts_retries(queue):
    properties = TEMPLATE.queues[queue]
    retry_window = int(properties["VisibilityTimeout"]) * int(properties["RedrivePolicy"]["maxReceiveCount"])

    (alarm,) = alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]})

    # A message that only keeps failing reaches the dead-letter queue before it trips the age alarm.
    assert ALARMS[alarm]["Threshold"] > retry_window


def test_place_order_latency_alarm_watches_post_orders_p99():
    alarm = ALARMS["PlaceOrderLatencyAlarm"]
    dimensions = {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}

    assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == ("AWS/ApiGateway", "Latency", "p99")
    assert dimensions["Method"] == "POST"
    assert dimensions["Resource"] == "/orders"
    assert dimensions["Stage"] == RESOURCES["Api"]["Properties"]["StageName"]
    assert alarm["Threshold"] == {"Ref": "PlaceOrderLatencyThreshold"}


def test_post_orders_has_detailed_metrics():
    # API Gateway publishes per-method Latency only for methods with MetricsEnabled.
    settings = DOCUMENT["Globals"]["Api"]["MethodSettings"] + RESOURCES["Api"]["Properties"].get("MethodSettings", [])

    assert {"ResourcePath": "/~1orders", "HttpMethod": "POST", "MetricsEnabled": True} in settings


def test_orders_paid_alarm_compares_paid_with_placed():
    alarm = ALARMS["OrdersPaidBelowPlacedAlarm"]
    queried = {query["MetricStat"]["Metric"]["MetricName"] for query in alarm["Metrics"] if "MetricStat" in query}
    returned = [query for query in alarm["Metrics"] if query["ReturnData"]]

    assert queried == {"OrdersPlaced", "OrdersPaid"}
    assert len(returned) == 1
    assert "paid" in returned[0]["Expression"]
    assert "placed" in returned[0]["Expression"]
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert all(query["MetricStat"]["Period"] == 3600 for query in alarm["Metrics"] if "MetricStat" in query)


def dashboard_body() -> dict:
    (dashboard,) = DASHBOARDS
    body = dashboard["DashboardBody"]["Fn::Sub"]
    # Replace each ${...} with a placeholder of the same shape, which keeps the JSON's strings intact.
    return json.loads(SUBSTITUTION.sub(lambda match: "SUB-" + match.group(1).replace(":", "-"), body))


def dashboard_metrics() -> list[list]:
    return [metric for widget in dashboard_body()["widgets"] for metric in widget["properties"].get("metrics", [])]


def test_dashboard_body_is_json_within_grid():
    widgets = dashboard_body()["widgets"]

    assert widgets
    for widget in widgets:
        assert widget["x"] >= 0, widget["properties"].get("title")
        assert widget["x"] + widget["width"] <= 24, widget["properties"].get("title")
        # CloudWatch's limit for one graph.
        assert len(widget["properties"].get("metrics", [])) <= 100, widget["properties"].get("title")


def test_dashboard_names_only_known_metrics():
    for metric in dashboard_metrics():
        namespace, name = metric[0], metric[1]

        assert namespace == NAMESPACE or namespace.startswith("AWS/"), metric
        if namespace == NAMESPACE:
            assert name in CUSTOM_METRICS, f"{name} is not among the metrics the functions emit"


def test_dashboard_substitutes_only_template_names():
    (dashboard,) = DASHBOARDS
    references = set(SUBSTITUTION.findall(dashboard["DashboardBody"]["Fn::Sub"]))
    known = set(RESOURCES) | {"AWS::Region", "AWS::StackName"}

    unknown = {reference for reference in references if reference.split(".")[0] not in known}

    assert references
    assert unknown == set()


def test_dashboard_covers_every_function_and_queue():
    named = {value for metric in dashboard_metrics() for value in metric if isinstance(value, str)}

    for function in FUNCTIONS:
        assert "SUB-" + function in named, function
    for queue in WORK_QUEUES + DEAD_LETTER_QUEUES:
        assert f"SUB-{queue}.QueueName" in named, queue
    for metric in BUSINESS_METRICS:
        assert metric in named, metric


def test_functions_and_api_are_traced_by_parameter():
    assert DOCUMENT["Globals"]["Function"]["Tracing"] == {"Ref": "TracingMode"}
    assert DOCUMENT["Globals"]["Api"]["TracingEnabled"] == {"Fn::If": ["TracingActive", True, False]}
    assert DOCUMENT["Conditions"]["TracingActive"] == {"Fn::Equals": [{"Ref": "TracingMode"}, "Active"]}
    assert set(DOCUMENT["Parameters"]["TracingMode"]["AllowedValues"]) == {"Active", "Disabled"}


NEW_CONSUMER = """
  AuditStockQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 20
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt AuditStockDeadLetterQueue.Arn
        maxReceiveCount: 3

  AuditStockDeadLetterQueue:
    Type: AWS::SQS::Queue

  AuditStockFunction:
    Type: AWS::Serverless::Function
    Metadata:
      DockerBuildArgs:
        FUNCTION_DIR: functions/inventory/audit_stock
    Properties:
      PackageType: Image
      ImageConfig:
        Command: ["functions.inventory.audit_stock.app.audit_stock"]
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt AuditStockQueue.Arn
"""


def template_with_new_consumer(tmp_path):
    text = TEMPLATE_PATH.read_text().replace(monitoring.BEGIN_MARKER + "\n", NEW_CONSUMER.lstrip("\n") + "\n" + monitoring.BEGIN_MARKER + "\n", 1)
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def test_check_reports_stale_region(tmp_path, capsys):
    path = template_with_new_consumer(tmp_path)
    original = path.read_text()

    status = monitoring.main(["--check", str(path)])

    assert status == 1
    assert "run `make monitoring`" in capsys.readouterr().err
    assert path.read_text() == original


def test_rewrite_covers_new_function_and_queues(tmp_path):
    path = template_with_new_consumer(tmp_path)

    status = monitoring.main([str(path)])
    document = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)

    assert status == 0
    assert monitoring.main(["--check", str(path)]) == 0
    for alarm in ("AuditStockFunctionErrorsAlarm", "AuditStockFunctionThrottlesAlarm", "AuditStockDeadLetterAlarm", "AuditStockDeadLetterAgeAlarm"):
        assert document["Resources"][alarm]["Type"] == "AWS::CloudWatch::Alarm", alarm
    # Twice the 20 s visibility timeout times 3 receives.
    assert document["Resources"]["AuditStockQueueAgeAlarm"]["Properties"]["Threshold"] == 120


def test_rewrite_changes_only_the_region(tmp_path):
    path = template_with_new_consumer(tmp_path)
    head, _, tail = monitoring.split_template(path.read_text())

    monitoring.main([str(path)])
    new_head, _, new_tail = monitoring.split_template(path.read_text())

    assert (new_head, new_tail) == (head, tail)


def test_missing_marker_is_rejected(tmp_path, capsys):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE_PATH.read_text().replace(monitoring.END_MARKER + "\n", ""))

    status = monitoring.main([str(path)])

    assert status == 2
    assert "# END generated monitoring" in capsys.readouterr().err


def test_hand_kept_duplicate_of_generated_alarm_is_rejected(tmp_path, capsys):
    duplicate = "  OutboxFailureAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties: {}\n\n"
    path = tmp_path / "template.yaml"
    original = TEMPLATE_PATH.read_text().replace(monitoring.BEGIN_MARKER + "\n", duplicate + monitoring.BEGIN_MARKER + "\n", 1)
    path.write_text(original)

    status = monitoring.main([str(path)])

    assert status == 2
    assert "OutboxFailureAlarm" in capsys.readouterr().err
    assert path.read_text() == original


@pytest.mark.parametrize(("metric", "service"), sorted(BUSINESS_METRICS.items()))
def test_business_metric_is_named_by_its_service_code(metric, service):
    # CloudWatch matches every dimension, so an alarm or graph with the wrong service shows no data.
    sources = [path for folder in (ROOT / "shared" / service, ROOT / "functions" / service) for path in folder.rglob("*.py")]

    assert any(f'"{metric}"' in path.read_text() for path in sources), f"no code of the {service} domain names {metric}; correct BUSINESS_METRICS in infra/template/metrics.py"
