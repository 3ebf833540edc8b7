"""Run functions as their container images, one warm container per concurrent invocation, as Lambda would.

Each container runs the function's image (built by `python -m infra.images.build`)
with the handler as its command. The image's entrypoint starts the Lambda
Runtime Interface Emulator (RIE), which takes one invocation at a time on port
8080; Docker publishes that port on 127.0.0.1 only.

Functions inside a container reach the AWS endpoint through a relay: a TCP
forwarder bound to the Docker bridge's gateway address (the address that
`--add-host host.docker.internal:host-gateway` names), which passes each
connection to the endpoint on the host's loopback. The endpoint itself stays on
127.0.0.1, and the relay is not bound to any interface that leaves the machine.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import os
import queue
import re
import socket
import socketserver
import subprocess
import threading
import time
from urllib.parse import urlparse

from infra.local.invoker import FunctionError, Invocation
from infra.local.template import Function

log = logging.getLogger("tradewind.runtime")

IMAGE_PREFIX = "tradewind/"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
CONTAINER_HOST = "host.docker.internal"
# From `docker run` until the RIE accepts the first invocation. The RIE itself
# starts in well under a second; the rest is Docker creating the container.
STARTUP_TIMEOUT_SECONDS = 30.0
# The RIE enforces the function's timeout itself; the HTTP client waits this
# much longer so the RIE's own timeout error arrives first.
TIMEOUT_MARGIN_SECONDS = 5.0
INIT_REPORT_PATTERN = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")
# The RIE's error payload for an unhandled exception. It returns 200 without
# Lambda's X-Amz-Function-Error header (checked with the RIE from aws-sam-cli
# 1.170.0), so an error is recognized by the payload's keys.
ERROR_PAYLOAD_KEYS = frozenset({"errorType", "errorMessage", "requestId", "stackTrace"})


def image_for(function: Function) -> str:
    """The tag that infra/images/build.py gives the function's image."""
    return f"{IMAGE_PREFIX}{function.name.lower()}:latest"


def docker_available(timeout: float = 10.0) -> bool:
    """Return whether a Docker daemon responds to `docker info`."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=timeout).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def _docker(*arguments: str, timeout: float = 60.0) -> str:
    result = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise ContainerError(f"docker {arguments[0]} failed: {result.stderr.strip()}")
    return result.stdout


class ContainerError(RuntimeError):
    """Docker could not start or reach a function's container."""


class RemoteFunctionError(Exception):
    """An unhandled exception inside a container, rebuilt from the RIE's error payload.

    Subclasses named after the payload's errorType are made on demand, so logs
    show `error=ProviderError` as they do for in-process functions.
    """

    _subclasses: dict[str, type[RemoteFunctionError]] = {}
    _lock = threading.Lock()

    @classmethod
    def from_payload(cls, payload: dict) -> RemoteFunctionError:
        error_type = str(payload.get("errorType") or "UnknownError")
        with cls._lock:
            subclass = cls._subclasses.get(error_type)
            if subclass is None:
                name = error_type if error_type.isidentifier() else "UnknownError"
                subclass = cls._subclasses[error_type] = type(name, (cls,), {})
        error = subclass(str(payload.get("errorMessage", "")))
        error.payload = payload
        return error


def is_error_payload(payload: object, headers: http.client.HTTPMessage) -> bool:
    if headers.get("X-Amz-Function-Error"):
        return True
    if not isinstance(payload, dict) or not {"errorType", "errorMessage"} <= payload.keys():
        return False
    return payload.keys() <= ERROR_PAYLOAD_KEYS


# --- the relay from the Docker bridge to the endpoint on loopback ---


def bridge_gateway_address() -> str:
    """Return the host's address on Docker's default bridge, which `host-gateway` resolves to."""
    # NOTE: a daemon started with --host-gateway-ip maps host-gateway elsewhere; the relay then is unreachable.
    inspected = json.loads(_docker("network", "inspect", "bridge", "--format", "{{json .}}"))
    for config in inspected.get("IPAM", {}).get("Config") or []:
        if config.get("Gateway"):
            return config["Gateway"].split("/")[0]
    # Docker 20.10 leaves Gateway empty on the default bridge; the bridge interface carries the address.
    interface = inspected.get("Options", {}).get("com.docker.network.bridge.name", "docker0")
    try:
        return _interface_address(interface)
    except OSError as error:
        raise ContainerError(f"cannot read the address of Docker's bridge interface {interface}: {error}; containers cannot reach the host") from error


def _interface_address(interface: str) -> str:
    import fcntl
    import struct

    siocgifaddr = 0x8915  # the Linux ioctl that returns an interface's IPv4 address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", interface.encode()[:15])
        return socket.inet_ntoa(fcntl.ioctl(probe.fileno(), siocgifaddr, request)[20:24])


class _RelayHandler(socketserver.BaseRequestHandler):
    server: _RelayServer

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.server.target, timeout=10)
        except OSError as error:
            log.warning("relay could not reach the AWS endpoint %s:%d: %s", *self.server.target, error)
            return
        upstream.settimeout(None)
        with upstream:
            forward = threading.Thread(target=_pipe, args=(self.request, upstream), daemon=True)
            forward.start()
            _pipe(upstream, self.request)
            forward.join()


def _pipe(source: socket.socket, destination: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close, so the other direction can still deliver its last bytes.
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _RelayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], target: tuple[str, int]) -> None:
        super().__init__(address, _RelayHandler)
        self.target = target


class EndpointRelay:
    """A TCP relay on the Docker bridge gateway to one endpoint on loopback, shared by every container."""

    _shared: dict[str, EndpointRelay] = {}
    _shared_lock = threading.Lock()

    def __init__(self, endpoint_url: str) -> None:
        parsed = urlparse(endpoint_url)
        if parsed.scheme != "http" or parsed.hostname is None:
            raise ContainerError(f"container mode needs an http:// AWS endpoint, not {endpoint_url}")
        self.endpoint_url = endpoint_url
        self._server = _RelayServer((bridge_gateway_address(), 0), (parsed.hostname, parsed.port or 80))
        self._thread = threading.Thread(target=self._server.serve_forever, name="endpoint-relay", daemon=True)
        self._thread.start()
        self._users = 0
        log.info("relaying %s:%d (Docker bridge) to %s for containers", *self._server.server_address, endpoint_url)

    @property
    def container_url(self) -> str:
        """The endpoint URL that containers use."""
        return f"http://{CONTAINER_HOST}:{self._server.server_address[1]}"

    @classmethod
    def acquire(cls, endpoint_url: str) -> EndpointRelay:
        with cls._shared_lock:
            relay = cls._shared.get(endpoint_url)
            if relay is None:
                relay = cls._shared[endpoint_url] = cls(endpoint_url)
            relay._users += 1
            return relay

    def release(self) -> None:
        with self._shared_lock:
            self._users -= 1
            if self._users > 0:
                return
            del self._shared[self.endpoint_url]
        self._server.shutdown()
        self._server.server_close()


# --- containers ---


class _Container:
    """One running container of a function's image, with a keep-alive connection to its RIE."""

    def __init__(self, container_id: str, port: int, timeout: float) -> None:
        self.id = container_id
        self.port = port
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self.ready = False

    def post(self, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self._timeout)
        try:
            self._connection.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
            response = self._connection.getresponse()
            return response.status, response.headers, response.read()
        except BaseException:
            self._connection.close()
            self._connection = None
            raise

    def wait_until_listening(self) -> None:
        """Return when the RIE accepts connections; Docker's port proxy accepts and resets them until it does."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    # A reset shows up as an empty read once the proxy finds nothing behind it.
                    probe.sendall(b"GET / HTTP/1.1\r\nHost: rie\r\nConnection: close\r\n\r\n")
                    if probe.recv(1):
                        return
            except OSError:
                pass
            state = _docker("inspect", "--format", "{{.State.Running}}", self.id).strip()
            if state != "true":
                raise ContainerError(f"container {self.id[:12]} exited before its RIE listened. Its log:\n{container_log(self.id)}")
            if time.monotonic() > deadline:
                raise ContainerError(f"the RIE in container {self.id[:12]} did not listen within {STARTUP_TIMEOUT_SECONDS:.0f} s (timed out)")
            time.sleep(0.05)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def container_log(container_id: str) -> str:
    result = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def init_duration_ms(container_id: str) -> float | None:
    """Return the RIE's INIT REPORT duration (module import and handler set-up) from the container log."""
    match = INIT_REPORT_PATTERN.search(container_log(container_id))
    return float(match.group(1)) if match else None


class ContainerFunction:
    """A pool of warm containers of one function, started on demand up to `concurrency`.

    Same interface as InProcessFunction: `function`, `invocations`, `errors` and
    `invoke(event)`, which raises FunctionError when the handler raises. Call
    `stop()` to remove the containers.
    """

    _container_numbers = itertools.count()

    def __init__(self, function: Function, environment: dict[str, str], region: str, concurrency: int, endpoint_url: str, image: str | None = None) -> None:
        self.function = function
        self.image = image or image_for(function)
        self.invocations = 0
        self.errors = 0
        self.init_durations_ms: list[float] = []
        self._region = region
        self._environment = environment
        self._idle: queue.LifoQueue[_Container] = queue.LifoQueue()
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self._containers: dict[str, _Container] = {}
        self._stopped = False
        if subprocess.run(["docker", "image", "inspect", self.image], capture_output=True).returncode != 0:
            raise ContainerError(f"{function.name}: image {self.image} not found; build it with `make images`")
        self._relay = EndpointRelay.acquire(endpoint_url)

    def invoke(self, event: dict) -> Invocation:
        """Invoke with `event`; raises FunctionError when the handler raises or its container fails."""
        with self._slots:
            container = self._take_container()
            with self._lock:
                self.invocations += 1
            started = time.perf_counter()
            healthy = True
            try:
                status, headers, body = container.post(json.dumps(event).encode())
            except (OSError, http.client.HTTPException) as error:
                healthy = False
                self._count_error()
                raise FunctionError(self.function.name, error, (time.perf_counter() - started) * 1000) from error
            finally:
                if healthy:
                    self._idle.put(container)
                else:
                    self._remove(container)
            duration = (time.perf_counter() - started) * 1000

            if not container.ready:
                container.ready = True
                self._record_cold_start(container)
            return self._result(status, headers, body, duration)

    def _result(self, status: int, headers: http.client.HTTPMessage, body: bytes, duration: float) -> Invocation:
        try:
            payload = json.loads(body) if body else None
        except json.JSONDecodeError as error:
            self._count_error()
            raise FunctionError(self.function.name, ValueError(f"the RIE returned HTTP {status} with a body that is not JSON: {body[:200]!r}"), duration) from error
        if status != 200 or is_error_payload(payload, headers):
            self._count_error()
            error = RemoteFunctionError.from_payload(payload if isinstance(payload, dict) else {"errorMessage": f"HTTP {status}: {body[:200]!r}"})
            raise FunctionError(self.function.name, error, duration)
        return Invocation(self.function.name, duration, payload)

    def _count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def _take_container(self) -> _Container:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._start_container()

    def _start_container(self) -> _Container:
        name = f"tradewind-{self.function.name.lower()}-{os.getpid()}-{next(self._container_numbers)}"
        arguments = [
            "run", "--detach", "--name", name,
            "--label", "tradewind.local-runtime=1",
            "--publish", "127.0.0.1::8080",
            "--add-host", f"{CONTAINER_HOST}:host-gateway",
            "--memory", f"{self.function.memory}m",
        ]
        for key, value in self._container_environment().items():
            arguments += ["--env", f"{key}={value}"]
        arguments += [self.image, self.function.handler]

        container_id = _docker(*arguments).strip()
        # Docker picks a free loopback port, so two pools never race for one.
        port = int(_docker("port", container_id, "8080/tcp").strip().splitlines()[0].rsplit(":", 1)[1])
        container = _Container(container_id, port, self.function.timeout + TIMEOUT_MARGIN_SECONDS)
        with self._lock:
            if self._stopped:
                _docker("rm", "--force", container_id)
                raise ContainerError(f"{self.function.name} is stopped")
            self._containers[container_id] = container
        container.wait_until_listening()
        log.info("started container %s for %s on 127.0.0.1:%d", container_id[:12], self.function.name, port)
        return container

    def _container_environment(self) -> dict[str, str]:
        return {
            **self._environment,
            "AWS_ENDPOINT_URL": self._relay.container_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self._region,
            "AWS_DEFAULT_REGION": self._region,
            # The RIE reads these for the timeout it enforces and the context object.
            "AWS_LAMBDA_FUNCTION_NAME": self.function.name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.function.timeout),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory),
        }

    def _record_cold_start(self, container: _Container) -> None:
        duration = init_duration_ms(container.id)
        if duration is None:
            log.warning("no INIT REPORT in the log of container %s (function %s)", container.id[:12], self.function.name)
            return
        with self._lock:
            self.init_durations_ms.append(duration)
        log.info("cold start of %s in container %s: init %.1f ms", self.function.name, container.id[:12], duration)

    def _remove(self, container: _Container) -> None:
        container.close()
        with self._lock:
            self._containers.pop(container.id, None)
        subprocess.run(["docker", "rm", "--force", container.id], capture_output=True)

    def stop(self) -> None:
        """Remove every container of this function and release the relay; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            containers = list(self._containers.values())
            self._containers.clear()
        for container in containers:
            container.close()
        if containers:
            subprocess.run(["docker", "rm", "--force", *[container.id for container in containers]], capture_output=True)
        self._relay.release()
