"""Run functions in this process, one warm instance per concurrent invocation, as Lambda would.

Lambda never sends a second event to an execution environment that is busy,
and Chalice keeps the current request on the app object, so each concurrent
invocation here gets its own instance of the function's module.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import math
import queue
import sys
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from infra.local.telemetry import Telemetry
from infra.local.template import Function
from shared.observability import PER_FUNCTION_SETTINGS, function_settings

log = logging.getLogger("tradewind.runtime")

ACCOUNT_ID = "123456789012"


class FunctionError(Exception):
    """The function raised instead of returning; Lambda reports this as an unhandled error."""

    def __init__(self, function: str, error: BaseException, duration_ms: float) -> None:
        super().__init__(f"{function} failed: {type(error).__name__}: {error}")
        self.error = error
        self.duration_ms = duration_ms


@dataclass
class Invocation:
    function: str
    duration_ms: float
    result: Any


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function: Function, region: str) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.name}"
        self.memory_limit_in_mb = function.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessFunction:
    """A pool of warm instances of one function, created on demand up to `concurrency`."""

    _instance_numbers = itertools.count()

    def __init__(self, function: Function, root: Path, region: str, concurrency: int, telemetry: Telemetry | None = None) -> None:
        self.function = function
        self._root = root
        self._telemetry = telemetry
        # The settings that differ between functions, which the process's one environment cannot hold.
        self._settings = {name: value for name, value in function.environment.items() if name in PER_FUNCTION_SETTINGS and isinstance(value, str)}
        self._region = region
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.Semaphore(concurrency)
        module_path, _, attribute = function.handler.rpartition(".")
        self._source = root / (module_path.replace(".", "/") + ".py")
        self._attribute = attribute
        self.invocations = 0
        self.errors = 0
        # The sum of invocation durations, each rounded up to a whole millisecond as Lambda bills them.
        self.billed_ms = 0
        self._billing_lock = threading.Lock()
        if not self._source.is_file():
            raise FileNotFoundError(f"{function.name}: handler module {self._source} does not exist")

    def invoke(self, event: dict) -> Invocation:
        """Invoke with `event`; raises FunctionError when the handler raises."""
        with self._slots, self._observed():
            handler = self._take_instance()
            self.invocations += 1
            context = LambdaContext(self.function, self._region)
            started = time.perf_counter()
            try:
                result = handler(event, context)
            except Exception as error:
                self.errors += 1
                duration = (time.perf_counter() - started) * 1000
                self._bill(duration)
                log.debug("function %s raised", self.function.name, exc_info=True)
                raise FunctionError(self.function.name, error, duration) from error
            finally:
                self._idle.put(handler)
            duration = (time.perf_counter() - started) * 1000
            self._bill(duration)
            if duration > self.function.timeout * 1000:
                # NOTE: a thread cannot be stopped, so an overrun is reported, not cut short as Lambda would.
                log.warning("function %s ran %.0f ms, over its %d s timeout", self.function.name, duration, self.function.timeout)
            return Invocation(self.function.name, duration, result)

    @contextmanager
    def _observed(self) -> Iterator[None]:
        """Run the block with this function's own settings and its stdout captured for the runtime's telemetry."""
        capture = self._telemetry.capture(self.function.name) if self._telemetry else nullcontext()
        with capture, function_settings(self._settings):
            try:
                yield
            except FunctionError as error:
                if self._telemetry:
                    self._telemetry.record_error(self.function.name, error.error)
                raise

    def _bill(self, duration_ms: float) -> None:
        with self._billing_lock:
            self.billed_ms += math.ceil(duration_ms)

    def _take_instance(self):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._load()

    def _load(self):
        name = f"tradewind_function_{self.function.name}_{next(self._instance_numbers)}"
        spec = importlib.util.spec_from_file_location(name, self._source)
        module = importlib.util.module_from_spec(spec)
        # Registered as a normal import would be: dataclasses and pydantic look their module up by name.
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return getattr(module, self._attribute)
