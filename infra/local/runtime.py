"""The local runtime: an AWS endpoint, the template's tables and queues, its API, and its queue pollers."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.environment import read_number
from infra.local import guard
from infra.local.authorizers import TokenAuthorizer
from infra.local.containers import ContainerFunction, EndpointRelay
from infra.local.emulator import MotoProcess
from infra.local.gateway import STAGE, Gateway, RouteTarget, Router
from infra.local.identity import JWKS_PATH, LocalIdentityProvider
from infra.local.invoker import ACCOUNT_ID, FunctionError, InProcessFunction
from infra.local.pollers import CHAOS_KINDS, Activity, QueuePoller
from infra.local.status import StatusPage
from infra.local.streams import StreamPoller
from infra.local.telemetry import Telemetry
from infra.local.provision import Deployment, provision
from infra.local.template import Authorizer, Route, Template, TemplateError, load, route_authorizer
from shared.observability import PER_FUNCTION_SETTINGS

log = logging.getLogger("tradewind.runtime")

ROOT = Path(__file__).resolve().parents[2]
INVOKE_MODES = ("process", "container")
# No X-Ray daemon or OTLP collector runs locally, so a tracing SDK in a function
# (Powertools Tracer, the OpenTelemetry SDK) must not try to send traces. In
# AWS the template's TracingMode parameter decides.
TRACING_DISABLED = {"POWERTOOLS_TRACE_DISABLED": "true", "OTEL_SDK_DISABLED": "true"}


@dataclass
class Settings:
    """Settings of the local runtime, read from the environment by `from_environment`."""

    host: str = "127.0.0.1"
    port: int = 3000
    endpoint_url: str | None = None  # an existing AWS endpoint; None starts moto
    moto_port: int = 5050
    region: str = "us-east-1"
    stack_name: str = "tradewind"
    template: Path = ROOT / "template.yaml"
    visibility_timeout: int | None = None  # overrides every queue's VisibilityTimeout, in seconds
    concurrency: int = 4  # warm instances per function
    pollers_per_queue: int = 2
    chaos: frozenset[str] = frozenset()  # any of duplicate, crash, reorder
    crash_rate: float = 0.2  # share of queue and stream invocations crashed once after their writes
    schedule_interval: float | None = None  # overrides every schedule's rate, in seconds
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides
    # Serve SQS from a second moto process, so that DynamoDB and SQS each get
    # a CPU core. It applies only with moto started here and functions run in-process.
    split_emulator: bool = False
    extra_environment: dict[str, str] = field(default_factory=dict)
    invoke: str = "process"  # "process" runs functions in this process, "container" runs their images
    function_log: Path | None = None  # a file that receives every line the functions write, metrics included

    def __post_init__(self) -> None:
        if self.invoke not in INVOKE_MODES:
            raise ValueError(f"INVOKE must be one of {', '.join(INVOKE_MODES)}, not {self.invoke!r}")

    @classmethod
    def from_environment(cls) -> Settings:
        environment = os.environ
        return cls(
            host=environment.get("HOST", "127.0.0.1"),
            port=read_number(environment, "PORT", int, 3000),
            endpoint_url=environment.get("AWS_ENDPOINT_URL") or None,
            moto_port=read_number(environment, "MOTO_PORT", int, 5050),
            region=environment.get("AWS_DEFAULT_REGION") or environment.get("AWS_REGION") or "us-east-1",
            stack_name=environment.get("STACK_NAME", "tradewind"),
            visibility_timeout=read_number(environment, "VISIBILITY_TIMEOUT", int, None),
            concurrency=read_number(environment, "FUNCTION_CONCURRENCY", int, 4),
            pollers_per_queue=read_number(environment, "POLLERS_PER_QUEUE", int, 2),
            invoke=environment.get("INVOKE", "process"),
            chaos=parse_chaos(environment.get("CHAOS", "")),
            crash_rate=read_number(environment, "CHAOS_CRASH_RATE", float, 0.2),
            schedule_interval=read_number(environment, "SCHEDULE_INTERVAL", float, None),
            parameters=parse_parameters(environment.get("TEMPLATE_PARAMETERS", "")),
            split_emulator=environment.get("SPLIT_EMULATOR", "") in ("1", "true", "yes"),
            function_log=Path(environment["FUNCTION_LOG"]) if environment.get("FUNCTION_LOG") else None,
        )


def parse_chaos(value: str) -> frozenset[str]:
    kinds = frozenset(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = kinds - CHAOS_KINDS
    if unknown:
        raise ValueError(f"CHAOS has unknown kinds {sorted(unknown)}: use any of {sorted(CHAOS_KINDS)}, comma-separated")
    return kinds


def parse_parameters(value: str) -> dict[str, str]:
    """Parse `Name=value,Other=value` into template parameter overrides."""
    parameters = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        name, separator, setting = pair.partition("=")
        if not separator:
            raise ValueError(f"TEMPLATE_PARAMETERS entry {pair!r} is not Name=value")
        parameters[name] = setting
    return parameters


class LocalRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.template: Template = load(settings.template)
        self.moto: MotoProcess | None = None
        self.sqs_moto: MotoProcess | None = None
        self.deployment: Deployment | None = None
        self.functions: dict[str, InProcessFunction | ContainerFunction] = {}
        self.activity = Activity()
        self.telemetry = Telemetry(settings.function_log)
        self._status = StatusPage(self)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._gateway: Gateway | None = None
        self._gateway_serving = False
        # Containers reach the gateway's JWKS through this relay (INVOKE=container only).
        self._gateway_relay: EndpointRelay | None = None
        self.identity = LocalIdentityProvider()
        self._authorizers: dict[Authorizer, TokenAuthorizer] = {}
        self._sqs: Any = None
        self.started_at = time.time()
        self._saved_environment: dict[str, str] | None = None
        self._stream_pollers: list[StreamPoller] = []
        self._streams: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self._gateway.server_port}"

    @property
    def endpoint_url(self) -> str:
        return self.settings.endpoint_url or self.moto.url

    def start(self) -> None:
        # Restored by stop(), so that a runtime started inside another program
        # (a test, the replay) leaves that program's environment as it found it.
        self._saved_environment = dict(os.environ)
        guard.install()
        if self.settings.endpoint_url is None:
            self.moto = MotoProcess(port=self.settings.moto_port)
            self.moto.start()
            log.info("moto is serving AWS APIs at %s", self.moto.url)
            if self.settings.split_emulator and self.settings.invoke == "process":
                self.sqs_moto = MotoProcess()
                self.sqs_moto.start()
                log.info("a second moto is serving SQS at %s", self.sqs_moto.url)
        guard.check_endpoint(self.endpoint_url)
        self._configure_aws_environment()

        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        # Every poller thread shares this client, so it needs a connection per thread.
        self._sqs = session.client("sqs", config=Config(max_pool_connections=64))
        self._streams = session.client("dynamodbstreams")
        # The gateway's port is part of the authorizer's JWKS URL, so it is bound before the functions get their environment.
        self._bind_gateway()
        parameters = {**self.settings.parameters, **self._identity_parameters()}
        self.deployment = provision(
            self.template, session.client("dynamodb"), self._sqs, self.settings.stack_name, self.settings.visibility_timeout, parameters
        )
        self._configure_function_environment()

        # Before any function loads, so that the log handlers they create write to the capturing stdout.
        self.telemetry.start()
        for name, function in self.template.functions.items():
            if self.settings.invoke == "container":
                environment = TRACING_DISABLED | {key: str(self.deployment.resolve(value)) for key, value in function.environment.items()}
                self.functions[name] = ContainerFunction(function, environment, self.settings.region, self.settings.concurrency, self.endpoint_url)
            else:
                self.functions[name] = InProcessFunction(function, ROOT, self.settings.region, self.settings.concurrency, self.telemetry)
        self._start_pollers()
        self._start_stream_pollers()
        self._start_schedules()
        self._start_gateway()
        log.info("Tradewind API listening on %s (%d functions)", self.url, len(self.functions))

    def stop(self) -> None:
        self._stopping.set()
        if self._gateway is not None:
            # shutdown() waits for serve_forever to return, so it would hang on a gateway that never served.
            if self._gateway_serving:
                self._gateway.shutdown()
            self._gateway.server_close()
        for thread in self._threads:
            thread.join(timeout=30)
        self.telemetry.stop()
        for function in self.functions.values():
            if isinstance(function, ContainerFunction):
                function.stop()
        if self._gateway_relay is not None:
            self._gateway_relay.release()
        for emulator in (self.moto, self.sqs_moto):
            if emulator is not None:
                emulator.stop()
        if self._saved_environment is not None:
            os.environ.clear()
            os.environ.update(self._saved_environment)
        from shared.aws import client

        # Clients built while this runtime ran point at its endpoint.
        client.cache_clear()
        log.info("stopped")

    def wait(self) -> None:
        while not self._stopping.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stopping.set()

    def _configure_aws_environment(self) -> None:
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.sqs_moto is not None:
            # boto3 takes a service's own endpoint over AWS_ENDPOINT_URL.
            os.environ["AWS_ENDPOINT_URL_SQS"] = self.sqs_moto.url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_DEFAULT_REGION"] = self.settings.region
        os.environ["AWS_REGION"] = self.settings.region

    def _configure_function_environment(self) -> None:
        # In-process functions share one environment. That works because the
        # template gives a variable the same value wherever it appears. A
        # conflict would make one function read another's setting, so it stops here.
        merged: dict[str, str] = {}
        for function in self.template.functions.values():
            for name, value in function.environment.items():
                if name in PER_FUNCTION_SETTINGS:
                    # Each in-process function gets its own value from the invoker.
                    continue
                resolved = str(self.deployment.resolve(value))
                if merged.get(name, resolved) != resolved:
                    raise TemplateError(f"environment variable {name} has different values in different functions; in-process mode needs one value")
                merged[name] = resolved
        os.environ.update(TRACING_DISABLED | merged)
        if "crash" in self.settings.chaos:
            os.environ["CHAOS_CRASH_RATE"] = str(self.settings.crash_rate)
        os.environ.update(self.settings.extra_environment)

    def _start_pollers(self) -> None:
        for function in self.template.functions.values():
            for source in function.queue_sources:
                for index in range(self.settings.pollers_per_queue):
                    poller = QueuePoller(
                        self._sqs,
                        source,
                        self.deployment.queue_urls[source.queue],
                        self.deployment.queue_arns[source.queue],
                        self.functions[function.name],
                        self.settings.region,
                        self._stopping,
                        self.activity,
                        self.settings.chaos,
                    )
                    self._start_thread(poller.run, f"poll-{source.queue}-{index}")

    def _start_stream_pollers(self) -> None:
        for function in self.template.functions.values():
            for source in function.stream_sources:
                failure_url = self.deployment.queue_urls[source.on_failure_queue] if source.on_failure_queue else None
                poller = StreamPoller(
                    self._streams,
                    self._sqs,
                    source,
                    self.deployment.stream_arns[source.table],
                    self.functions[function.name],
                    failure_url,
                    self.settings.region,
                    self._stopping,
                )
                self._stream_pollers.append(poller)
                self._start_thread(poller.run, f"stream-{source.table}")

    def _start_schedules(self) -> None:
        for function in self.template.functions.values():
            for schedule in function.schedules:
                interval = self.settings.schedule_interval or schedule.interval_seconds
                self._start_thread(lambda target=self.functions[function.name], every=interval: self._run_schedule(target, every), f"schedule-{function.name}")

    def _run_schedule(self, function: Any, interval: float) -> None:
        while not self._stopping.wait(interval):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": self.settings.region,
                "resources": [f"arn:aws:events:{self.settings.region}:{ACCOUNT_ID}:rule/{function.function.name}"],
                "detail": {},
            }
            try:
                invocation = function.invoke(event)
                log.info("invoke function=%s duration_ms=%.1f outcome=ok result=%s", function.function.name, invocation.duration_ms, invocation.result)
            except FunctionError as error:
                log.info("invoke function=%s duration_ms=%.1f outcome=error error=%s", function.function.name, error.duration_ms, type(error.error).__name__)

    def _start_thread(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_gateway(self) -> None:
        routes = [
            RouteTarget(route.method, route.path, tuple(route.path.strip("/").split("/")), self.functions[function.name], self._route_authorizer(route))
            for function in self.template.functions.values()
            for route in function.routes
        ]
        runtime_routes = {
            "/_runtime/stats": self._stats,
            "/_runtime/idle": self._wait_idle,
            "/_runtime/": self._status.html,
            "/_runtime/status": self._status.json,
        }
        self._gateway.router = Router(routes)
        self._gateway.runtime_routes = runtime_routes
        thread = threading.Thread(target=self._gateway.serve_forever, name="gateway", daemon=True)
        thread.start()
        self._gateway_serving = True

    def _bind_gateway(self) -> None:
        # Connections that arrive before _start_gateway wait in the listen backlog.
        self._gateway = Gateway((self.settings.host, self.settings.port), Router([]), {}, identity=self.identity)

    def _identity_parameters(self) -> dict[str, str]:
        """Point the template's JwksUrl, TokenIssuer and TokenAudience at this runtime's identity provider."""
        jwks_url = self.url + JWKS_PATH
        if self.settings.invoke == "container":
            self._gateway_relay = EndpointRelay.acquire(self.url)
            jwks_url = self._gateway_relay.container_url + JWKS_PATH
        parameters = self.identity.template_parameters(jwks_url)
        return {name: value for name, value in parameters.items() if name in self.template.parameters}

    def _route_authorizer(self, route: Route) -> TokenAuthorizer | None:
        authorizer = route_authorizer(self.template, route)
        if authorizer is None:
            return None
        if authorizer not in self._authorizers:
            self._authorizers[authorizer] = TokenAuthorizer(authorizer, self.functions[authorizer.function], self.settings.region, STAGE)
        return self._authorizers[authorizer]

    def queue_depths(self) -> dict[str, dict[str, int]]:
        depths = {}
        for name, url in self.deployment.queue_urls.items():
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
            )["Attributes"]
            depths[name] = {key.removeprefix("ApproximateNumberOfMessages") or "Visible": int(value) for key, value in attributes.items()}
        return depths

    def is_idle(self, since: float = 0.0) -> bool:
        """Return whether nothing is in flight, and every stream was read to its end at or after `since` (monotonic)."""
        if self.activity.in_flight:
            return False
        # A stream read older than the last finished batch may have missed what that batch wrote.
        since = max(since, self.activity.last_finished)
        if not all(poller.caught_up and poller.caught_up_at >= since for poller in self._stream_pollers):
            return False
        # Only queues that a function polls can drain; dead-letter and failure queues keep what they hold.
        polled = {source.queue for function in self.template.functions.values() for source in function.queue_sources}
        for name, depth in self.queue_depths().items():
            if name in polled and sum(depth.values()):
                return False
        return True

    def _stats(self, query: dict) -> tuple[int, dict]:
        return 200, {
            "endpointUrl": self.endpoint_url,
            "uptimeSeconds": round(time.time() - self.started_at, 1),
            # billedMs: durations rounded up to whole milliseconds per invocation, as Lambda bills; None for container functions.
            "invocations": {
                name: {"count": function.invocations, "errors": function.errors, "billedMs": getattr(function, "billed_ms", None)}
                for name, function in self.functions.items()
            },
            "sqsEndpointUrl": self.sqs_moto.url if self.sqs_moto else self.endpoint_url,
            "awsCalls": self._merged_calls("by_service") if self.moto else None,
            "awsCallsByAction": self._merged_calls("by_action") if self.moto else None,
            "awsUnits": self._merged_calls("units") if self.moto else None,
            "queues": self.queue_depths(),
        }

    def _merged_calls(self, view: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for emulator in (self.moto, self.sqs_moto):
            if emulator is not None:
                for key, count in getattr(emulator.calls, view)().items():
                    totals[key] = totals.get(key, 0) + count
        return totals

    def _wait_idle(self, query: dict) -> tuple[int, dict]:
        """Wait until no polled queue contains a message and no batch is running, checked twice in a row."""
        started = time.monotonic()
        deadline = started + float(query.get("timeout", "30"))
        quiet_checks = 0
        while time.monotonic() < deadline:
            quiet_checks = quiet_checks + 1 if self.is_idle(since=started) else 0
            if quiet_checks >= 2:
                return 200, {"idle": True}
            time.sleep(0.1)
        return 503, {"error": {"code": "NOT_IDLE", "message": "queues still hold messages after the timeout"}}
