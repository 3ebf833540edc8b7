"""Read the functions, queues and the place-order route that monitoring covers from template.yaml."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.local.template import Function, TemplateError, _CloudFormationLoader, load

# SQS's defaults when a queue sets no VisibilityTimeout or MessageRetentionPeriod, in seconds.
DEFAULT_VISIBILITY_TIMEOUT = 30
DEFAULT_RETENTION_PERIOD = 345600
PLACE_ORDER_ROUTE = ("POST", "/orders")


@dataclass(frozen=True)
class MonitoredFunction:
    name: str  # the logical id
    service: str  # the `service` dimension of its custom metrics
    # An API Gateway authorizer rejects a bad token by failing with "Unauthorized",
    # which Lambda counts in Errors, so only its HandlerErrors mean a fault.
    is_authorizer: bool = False


@dataclass(frozen=True)
class WorkQueue:
    name: str
    consumer_service: str  # the service of the function that reads it, which emits its QueueMessageAge
    visibility_timeout: int  # seconds
    max_receive_count: int

    @property
    def retry_window(self) -> int:
        """Seconds a message that always fails stays in the queue before SQS dead-letters it."""
        return self.visibility_timeout * self.max_receive_count


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    arrival: str  # a sentence on what lands in it and what to do, for the alarm description
    retention_period: int  # seconds


@dataclass(frozen=True)
class PlaceOrderRoute:
    function: str
    api: str  # the logical id of the AWS::Serverless::Api
    api_name: str  # the ApiName dimension, in !Sub syntax: the Api's Name, or the stack name that SAM gives it
    stage: str


@dataclass(frozen=True)
class MonitoredResources:
    functions: list[MonitoredFunction]
    work_queues: list[WorkQueue]
    dead_letter_queues: list[DeadLetterQueue]
    place_order: PlaceOrderRoute
    declared: frozenset[str]  # the logical ids of every resource the template read declares


def read_resources(text: str) -> MonitoredResources:
    """Read what the alarms and the dashboard cover from a template's text, in template order.

    Raises TemplateError when a consumed queue has no RedrivePolicy or no
    function serves POST /orders through an AWS::Serverless::Api.
    """
    # The local runtime's reader takes a file.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.yaml"
        path.write_text(text)
        template = load(path)
    document = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)
    resources = document["Resources"]
    functions = list(template.functions.values())
    authorizers = {authorizer.function for api in template.apis.values() for authorizer in api.authorizers.values()}

    return MonitoredResources(
        functions=[MonitoredFunction(function.name, service_of(function), function.name in authorizers) for function in functions],
        work_queues=_work_queues(template.queues, functions),
        dead_letter_queues=_dead_letter_queues(template.queues, functions),
        place_order=_place_order_route(resources, functions),
        declared=frozenset(resources),
    )


def service_of(function: Function) -> str:
    """Return the `service` dimension of a function's metrics.

    That is POWERTOOLS_SERVICE_NAME where the template sets it to a plain
    string, and otherwise the domain folder of the function's code
    (functions/<domain>/<operation>).
    """
    configured = function.environment.get("POWERTOOLS_SERVICE_NAME")
    if isinstance(configured, str):
        return configured
    return function.image_metadata["DockerBuildArgs"]["FUNCTION_DIR"].split("/")[1]


def _work_queues(queues: dict[str, dict], functions: list[Function]) -> list[WorkQueue]:
    consumers = {source.queue: function for function in functions for source in function.queue_sources}
    work_queues = []
    for name, properties in queues.items():
        if name not in consumers:
            continue
        redrive_policy = properties.get("RedrivePolicy")
        if redrive_policy is None:
            raise TemplateError(f"queue {name} is read by {consumers[name].name} but has no RedrivePolicy; give it a dead-letter queue")
        work_queues.append(
            WorkQueue(
                name=name,
                consumer_service=service_of(consumers[name]),
                visibility_timeout=int(properties.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT)),
                max_receive_count=int(redrive_policy["maxReceiveCount"]),
            )
        )
    return work_queues


def _dead_letter_queues(queues: dict[str, dict], functions: list[Function]) -> list[DeadLetterQueue]:
    arrivals: dict[str, str] = {}
    for name, properties in queues.items():
        target = properties.get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            dead_letter_queue = target["Fn::GetAtt"][0]
            arrivals[dead_letter_queue] = (
                f"Messages of {name} failed maxReceiveCount times and went to {dead_letter_queue}; inspect them, fix the cause, then redrive them."
            )

    stream_consumers: dict[str, list[str]] = {}
    for function in functions:
        for stream in function.stream_sources:
            if stream.on_failure_queue is not None:
                stream_consumers.setdefault(stream.on_failure_queue, []).append(function.name)
    for name, consumers in stream_consumers.items():
        arrivals.setdefault(
            name,
            f"A DynamoDB stream consumer ({', '.join(consumers)}) gave up on a batch after all retries, so the outbox messages in it "
            f"were not sent; {name} holds the batch's shard and sequence numbers.",
        )

    # Template order, so that the generated region does not reorder when a queue is added.
    return [
        DeadLetterQueue(name, arrivals[name], int(properties.get("MessageRetentionPeriod", DEFAULT_RETENTION_PERIOD)))
        for name, properties in queues.items()
        if name in arrivals
    ]


def _place_order_route(resources: dict[str, Any], functions: list[Function]) -> PlaceOrderRoute:
    method, path = PLACE_ORDER_ROUTE
    for function in functions:
        for event in resources[function.name]["Properties"].get("Events", {}).values():
            properties = event.get("Properties", {})
            if event["Type"] != "Api" or properties.get("Method", "").upper() != method or properties.get("Path") != path:
                continue
            api = properties.get("RestApiId", {}).get("Ref")
            if api not in resources or resources[api]["Type"] != "AWS::Serverless::Api":
                raise TemplateError(f"{function.name} serves {method} {path} without RestApiId: !Ref <an AWS::Serverless::Api>")
            api_properties = resources[api]["Properties"]
            return PlaceOrderRoute(function=function.name, api=api, api_name=_api_name(api, api_properties), stage=api_properties["StageName"])
    raise TemplateError(f"no function serves {method} {path}; the place-order latency alarm needs that route")


def _api_name(api: str, properties: dict[str, Any]) -> str:
    name = properties.get("Name")
    if name is None:
        # SAM titles the OpenAPI document it generates after the stack, and API Gateway names the REST API from that title.
        return "${AWS::StackName}"
    if isinstance(name, str):
        return name
    if isinstance(name, dict) and "Ref" in name:
        return "${" + name["Ref"] + "}"
    raise TemplateError(f"{api}.Name must be a string or a !Ref for the place-order latency alarm, not {name!r}")
