"""Read template.yaml: the one list of tables, queues, functions, routes and event sources.

The local runtime and the provisioning code take everything from here, so the
template is never repeated by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The template uses something the local runtime does not support."""


class _CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns short intrinsic tags (`!Ref`, `!GetAtt`, `!Sub`) into their long form."""


def _construct_intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    api: str | None = None  # logical id of the Api resource (RestApiId)
    auth: str | None = None  # the event's Auth.Authorizer: an authorizer's name, NONE, or None for the Api's default


@dataclass(frozen=True)
class Authorizer:
    """A Lambda TOKEN authorizer of an API, as SAM's Auth.Authorizers declares it."""

    name: str
    function: str  # logical id of the authorizer function
    header: str  # the request header whose value is the token
    reauthorize_every: int  # seconds a decision is cached per token; 0 turns the cache off


@dataclass(frozen=True)
class Api:
    authorizers: dict[str, Authorizer]
    default_authorizer: str | None


@dataclass(frozen=True)
class QueueSource:
    queue: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class StreamSource:
    table: str
    batch_size: int
    maximum_retry_attempts: int
    report_batch_item_failures: bool
    on_failure_queue: str | None


@dataclass(frozen=True)
class ScheduleSource:
    expression: str

    @property
    def interval_seconds(self) -> float:
        """The interval of a `rate(N unit)` expression; cron expressions are not supported locally."""
        match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", self.expression)
        if not match:
            raise TemplateError(f"schedule {self.expression!r} is not a rate() expression; the local runtime runs only rate schedules")
        unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
        return int(match.group(1)) * unit


@dataclass
class Function:
    name: str
    handler: str
    timeout: int
    memory: int
    environment: dict[str, Any]
    image_metadata: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    queue_sources: list[QueueSource] = field(default_factory=list)
    stream_sources: list[StreamSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)


@dataclass
class Template:
    tables: dict[str, dict]
    queues: dict[str, dict]
    functions: dict[str, Function]
    parameters: dict[str, str] = field(default_factory=dict)
    apis: dict[str, Api] = field(default_factory=dict)
    # AWS::SecretsManager::Secret resources; the local runtime fills each with a random value.
    secrets: dict[str, dict] = field(default_factory=dict)


def load(path: str | Path) -> Template:
    document = yaml.load(Path(path).read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (the loader is a SafeLoader)
    resources = document.get("Resources", {})
    globals_ = document.get("Globals", {}).get("Function", {})

    tables = {name: res.get("Properties", {}) for name, res in resources.items() if res["Type"] == "AWS::DynamoDB::Table"}
    queues = {name: res.get("Properties", {}) for name, res in resources.items() if res["Type"] == "AWS::SQS::Queue"}
    secrets = {name: res.get("Properties", {}) for name, res in resources.items() if res["Type"] == "AWS::SecretsManager::Secret"}
    functions = {
        name: _read_function(name, res, globals_)
        for name, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    parameters = {name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()}
    return Template(tables=tables, queues=queues, functions=functions, parameters=parameters, apis=_read_apis(resources, functions), secrets=secrets)


def _read_function(name: str, resource: dict, globals_: dict) -> Function:
    properties = resource.get("Properties", {})
    command = properties.get("ImageConfig", {}).get("Command")
    if not command:
        raise TemplateError(f"function {name} has no ImageConfig.Command: set it to the handler, e.g. functions.orders.place_order.app.app")
    environment = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    function = Function(
        name=name,
        handler=command[0],
        timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
        memory=int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
        environment=environment,
        image_metadata=resource.get("Metadata", {}),
    )
    for event_name, event in properties.get("Events", {}).items():
        event_properties = event.get("Properties", {})
        if event["Type"] == "Api":
            api = event_properties.get("RestApiId")
            function.routes.append(
                Route(
                    method=event_properties["Method"].upper(),
                    path=event_properties["Path"],
                    api=api["Ref"] if isinstance(api, dict) and "Ref" in api else None,
                    auth=event_properties.get("Auth", {}).get("Authorizer"),
                )
            )
        elif event["Type"] == "SQS":
            queue = event_properties["Queue"]
            if not (isinstance(queue, dict) and "Fn::GetAtt" in queue):
                raise TemplateError(f"{name}.{event_name}: Queue must be !GetAtt <queue>.Arn")
            function.queue_sources.append(
                QueueSource(
                    queue=queue["Fn::GetAtt"][0],
                    batch_size=int(event_properties.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in event_properties.get("FunctionResponseTypes", []),
                )
            )
        elif event["Type"] == "DynamoDB":
            stream = event_properties["Stream"]
            if not (isinstance(stream, dict) and "Fn::GetAtt" in stream):
                raise TemplateError(f"{name}.{event_name}: Stream must be !GetAtt <table>.StreamArn")
            destination = event_properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            function.stream_sources.append(
                StreamSource(
                    table=stream["Fn::GetAtt"][0],
                    batch_size=int(event_properties.get("BatchSize", 100)),
                    maximum_retry_attempts=int(event_properties.get("MaximumRetryAttempts", -1)),
                    report_batch_item_failures="ReportBatchItemFailures" in event_properties.get("FunctionResponseTypes", []),
                    on_failure_queue=destination["Fn::GetAtt"][0] if isinstance(destination, dict) else None,
                )
            )
        elif event["Type"] == "Schedule":
            function.schedules.append(ScheduleSource(expression=event_properties["Schedule"]))
        else:
            raise TemplateError(f"{name}.{event_name}: event type {event['Type']} is not supported by the local runtime")
    return function


def route_authorizer(template: Template, route: Route) -> Authorizer | None:
    """Return the authorizer that API Gateway runs before `route`'s function, or None for a public route.

    A route takes its Api's DefaultAuthorizer unless its own Auth.Authorizer
    names another one or NONE. A route without RestApiId belongs to SAM's
    implicit API, which declares no authorizer here.
    """
    api = template.apis.get(route.api) if route.api else None
    if api is None:
        return None
    name = route.auth or api.default_authorizer
    if name is None or name == "NONE":
        return None
    return api.authorizers[name]


def _read_apis(resources: dict, functions: dict[str, Function]) -> dict[str, Api]:
    """Read each AWS::Serverless::Api's Lambda authorizers and check that every route names one it has."""
    apis = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Api":
            continue
        auth = resource.get("Properties", {}).get("Auth", {})
        authorizers = {key: _read_authorizer(name, key, spec, functions) for key, spec in auth.get("Authorizers", {}).items()}
        default = auth.get("DefaultAuthorizer")
        if default is not None and default not in authorizers:
            raise TemplateError(f"{name}: DefaultAuthorizer {default} is not one of its Auth.Authorizers {sorted(authorizers)}")
        apis[name] = Api(authorizers=authorizers, default_authorizer=default)

    for function in functions.values():
        for route in function.routes:
            if route.auth in (None, "NONE"):
                continue
            if route.api not in apis or route.auth not in apis[route.api].authorizers:
                raise TemplateError(f"{function.name}: route {route.method} {route.path} names the authorizer {route.auth}, which its Api does not declare")
    return apis


def _read_authorizer(api: str, name: str, spec: dict, functions: dict[str, Function]) -> Authorizer:
    # SAM's default payload type for a Lambda authorizer is TOKEN.
    if spec.get("FunctionPayloadType", "TOKEN") != "TOKEN":
        raise TemplateError(f"{api}.Auth.Authorizers.{name}: the local runtime supports only TOKEN authorizers, not {spec['FunctionPayloadType']}")
    target = spec.get("FunctionArn")
    if not (isinstance(target, dict) and "Fn::GetAtt" in target and target["Fn::GetAtt"][0] in functions):
        raise TemplateError(f"{api}.Auth.Authorizers.{name}: FunctionArn must be !GetAtt <function>.Arn of a function in the template")
    identity = spec.get("Identity", {})
    return Authorizer(
        name=name,
        function=target["Fn::GetAtt"][0],
        header=identity.get("Header", "Authorization"),
        # SAM caches a decision for 300 s unless ReauthorizeEvery sets another value.
        reauthorize_every=int(identity.get("ReauthorizeEvery", 300)),
    )
