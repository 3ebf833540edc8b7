"""Correlated JSON logs and CloudWatch business metrics, kept per invocation.

Each entry point opens an invocation with `invocation(context)`: the HTTP
middleware (`observe_requests`), the queue consumer (`shared.queues`), the
stream publisher (`shared.outbox`) and the scheduled expiry. While it is open:

- every record of the `shared` and `functions` loggers is written to stdout as
  one JSON object by Powertools' LambdaPowertoolsFormatter, with the service,
  function name, request id, correlation id and, once known, order id;
- `count()` adds to a business metric. The metrics are written to stdout in
  CloudWatch's embedded metric format (EMF) when the invocation ends, where
  Lambda's log stream turns them into CloudWatch metrics.

The local runtime runs many functions on several threads of one process, so
nothing about an invocation lives in module state. The log keys are
Powertools' thread-safe keys, which live in a ContextVar, and the open
invocation and the correlation id are ContextVars too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

NAMESPACE_SETTING = "POWERTOOLS_METRICS_NAMESPACE"
SERVICE_SETTING = "POWERTOOLS_SERVICE_NAME"
FUNCTION_SETTING = "POWERTOOLS_METRICS_FUNCTION_NAME"
# Settings whose value differs from one function to another (see `function_settings`).
PER_FUNCTION_SETTINGS = (SERVICE_SETTING, FUNCTION_SETTING)
# The template sets the namespace; this default only serves code run outside it, such as tests.
DEFAULT_NAMESPACE = "Tradewind"

CORRELATION_HEADER = "X-Correlation-Id"
# The name of the correlation id as an SQS message attribute and as an outbox entry's field.
CORRELATION_ATTRIBUTE = "correlationId"
# Correlation ids and order ids go into log lines and message attributes, so only short, plain tokens are kept.
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The maximum length, in characters, of the message in a log line's `error` field.
MAX_ERROR_MESSAGE = 300

# Loggers whose records become JSON lines: this package's modules and the function modules.
_JSON_LOGGERS = ("shared", "functions")

log = logging.getLogger(__name__)

_function_settings: ContextVar[dict[str, str]] = ContextVar("function_settings", default={})
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_formatter: LambdaPowertoolsFormatter | None = None
_formatter_lock = threading.Lock()


@dataclass
class _Invocation:
    service: str
    function: str
    namespace: str
    # One Powertools metric set per combination of extra dimensions, keyed by those (name, value) pairs.
    metric_sets: dict[tuple[tuple[str, str], ...], Any] = field(default_factory=dict)


_current: ContextVar[_Invocation | None] = ContextVar("invocation", default=None)


@contextmanager
def function_settings(values: dict[str, str]) -> Iterator[None]:
    """Give the current thread its own values of PER_FUNCTION_SETTINGS until the block ends.

    For hosts that run several functions in one process, such as the local
    runtime, where one os.environ cannot hold a service name per function.
    The values given here win over os.environ.
    """
    token = _function_settings.set(dict(values))
    try:
        yield
    finally:
        _function_settings.reset(token)


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Open an invocation for Lambda's `context` until the block ends, then write its metrics.

    The metrics are written even when the block raises. An invocation opened
    while another is open on the same thread joins the outer one.
    """
    if _current.get() is not None:
        yield
        return

    formatter = _configure_logging()
    state = _new_invocation(getattr(context, "function_name", None))
    token = _current.set(state)
    correlation_token = _correlation_id.set(None)
    formatter.thread_safe_clear_keys()
    formatter.thread_safe_append_keys(
        service=state.service,
        function_name=state.function,
        function_request_id=getattr(context, "aws_request_id", None),
    )
    try:
        yield
    finally:
        try:
            _flush(state)
        finally:
            # A pooled thread runs other invocations next, so nothing of this one may stay on it.
            formatter.thread_safe_clear_keys()
            _correlation_id.reset(correlation_token)
            _current.reset(token)


@contextmanager
def correlated(correlation_id: str | None, order_id: str | None = None, **keys: Any) -> Iterator[None]:
    """Log with this correlation id, order id and extra `keys` until the block ends, then restore the previous ones.

    Outbox entries written inside the block carry the correlation id
    (`current_correlation_id`). An id that is not a safe token is left out.
    """
    formatter = _configure_logging()
    saved_keys = dict(formatter.thread_safe_get_current_keys())
    token = _correlation_id.set(safe_token(correlation_id))
    formatter.thread_safe_append_keys(correlation_id=safe_token(correlation_id), order_id=safe_token(order_id), **keys)
    try:
        yield
    finally:
        formatter.thread_safe_clear_keys()
        formatter.thread_safe_append_keys(**saved_keys)
        _correlation_id.reset(token)


def set_order_id(order_id: str | None) -> None:
    """Add the order id to the log lines that follow, until the enclosing `correlated` block or invocation ends."""
    if safe_token(order_id):
        _configure_logging().thread_safe_append_keys(order_id=order_id)


def current_correlation_id() -> str | None:
    """Return the correlation id of the invocation or record being handled, or None."""
    return _correlation_id.get()


def safe_token(value: Any) -> str | None:
    """Return `value` if it is 1-128 characters of [A-Za-z0-9._:-], else None."""
    if isinstance(value, str) and _SAFE_TOKEN.fullmatch(value):
        return value
    return None


def count(name: str | None, value: int = 1) -> None:
    """Add `value` to the business metric `name` (unit Count, dimension service); a None name counts nothing.

    Inside an invocation the metric is written when the invocation ends.
    Outside one, as in a script or a test that calls a table adapter, it is written at once.
    """
    if name is not None:
        _add_metric(name, "Count", value)


def record_queue_age(queue: str, sent_timestamp_ms: int | str | None) -> None:
    """Add a record's age, from SQS's SentTimestamp until now, to QueueMessageAge (dimensions service and queue)."""
    if sent_timestamp_ms is None:
        return
    age = max(0, int(time.time() * 1000) - int(sent_timestamp_ms))
    _add_metric("QueueMessageAge", "Milliseconds", age, queue=queue)


def record_failure(error: BaseException, message: str) -> None:
    """Count a failed record or request in HandlerErrors and log `message` once with the error's type and first line."""
    _count_handler_error()
    log.error(message, extra={"error_type": type(error).__name__, "error": describe(error)}, exc_info=_traceback_of(error))


@contextmanager
def failures_counted(message: str) -> Iterator[None]:
    """Pass on any exception raised in the block after `record_failure` has counted and logged it."""
    try:
        yield
    except Exception as error:
        record_failure(error, message)
        raise


def describe(error: BaseException) -> str:
    """Return the first line of an error's message, at most MAX_ERROR_MESSAGE characters."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return first[:MAX_ERROR_MESSAGE]


def observe_requests(request: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice "http" middleware: open the invocation, set its correlation id, and log the outcome once.

    The correlation id is the request's X-Correlation-Id header when that is a
    safe token, else API Gateway's request id, and the response returns it in
    the same header. A response of 500 or more counts in HandlerErrors.
    """
    with invocation(request.lambda_context):
        correlation_id = _request_correlation_id(request)
        with correlated(correlation_id, order_id=(request.uri_params or {}).get("orderId")):
            with failures_counted("request failed"):
                response = get_response(request)
            response.headers[CORRELATION_HEADER] = correlation_id
            _log_response(request, response)
    return response


def _request_correlation_id(request: Any) -> str:
    header = safe_token(request.headers.get(CORRELATION_HEADER))
    if header:
        return header
    request_id = safe_token((request.context or {}).get("requestId"))
    return request_id or getattr(request.lambda_context, "aws_request_id", "unknown")


def _log_response(request: Any, response: Any) -> None:
    body = response.body if isinstance(response.body, dict) else {}
    # A new order's id is known only from the response.
    set_order_id(body.get("orderId"))
    fields = {"method": request.method, "resource": (request.context or {}).get("resourcePath"), "status": response.status_code}
    if response.status_code < 500:
        log.info("request completed", extra=fields)
        return
    _count_handler_error()
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    log.error("request failed", extra={**fields, "error_type": error.get("code", "INTERNAL_ERROR"), "error": str(error.get("message", ""))[:MAX_ERROR_MESSAGE]})


def _count_handler_error() -> None:
    state = _current.get()
    function = state.function if state else _setting(FUNCTION_SETTING) or "unknown"
    _add_metric("HandlerErrors", "Count", 1, function=function)


def _traceback_of(error: BaseException) -> BaseException | None:
    from pydantic import ValidationError

    # A validation error's text quotes the input values, which may include a payment token.
    return None if isinstance(error, ValidationError) else error


def _add_metric(name: str, unit: str, value: float, **dimensions: str) -> None:
    state = _current.get()
    if state is None:
        state = _new_invocation(None)
        _metric_set(state, dimensions).add_metric(name=name, unit=unit, value=value)
        _flush(state)
        return
    _metric_set(state, dimensions).add_metric(name=name, unit=unit, value=value)


def _metric_set(state: _Invocation, dimensions: dict[str, str]) -> Any:
    key = tuple(sorted(dimensions.items()))
    metrics = state.metric_sets.get(key)
    if metrics is None:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        # EphemeralMetrics keeps its metrics on the instance; Powertools' Metrics shares them across
        # every instance in the process, which would mix concurrent invocations.
        metrics = EphemeralMetrics(namespace=state.namespace, service=state.service)
        metrics.add_dimension(name="service", value=state.service)
        for name, value in key:
            metrics.add_dimension(name=name, value=value)
        state.metric_sets[key] = metrics
    return metrics


def _flush(state: _Invocation) -> None:
    for metrics in state.metric_sets.values():
        if metrics.metric_set:
            metrics.flush_metrics()
    state.metric_sets.clear()


def _new_invocation(context_function_name: str | None) -> _Invocation:
    return _Invocation(
        service=_setting(SERVICE_SETTING) or "service_undefined",
        function=_setting(FUNCTION_SETTING) or context_function_name or "unknown",
        namespace=os.environ.get(NAMESPACE_SETTING) or DEFAULT_NAMESPACE,
    )


def _setting(name: str) -> str | None:
    return _function_settings.get().get(name) or os.environ.get(name)


class _StdoutHandler(logging.StreamHandler):
    """Write to the sys.stdout of the moment, so that a host that redirects it (the local runtime, pytest) gets every line."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        # StreamHandler.__init__ assigns the stream; the property above always reads sys.stdout instead.
        pass


def _configure_logging() -> LambdaPowertoolsFormatter:
    """Give the `shared` and `functions` loggers one JSON handler, once per process, and return its formatter."""
    global _formatter
    if _formatter is not None:
        return _formatter
    with _formatter_lock:
        if _formatter is None:
            from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

            formatter = LambdaPowertoolsFormatter(utc=True, use_rfc3339=True, log_record_order=["timestamp", "level", "message"], serialize_stacktrace=False)
            handler = _StdoutHandler()
            handler.setFormatter(formatter)
            for name in _JSON_LOGGERS:
                target = logging.getLogger(name)
                target.addHandler(handler)
                target.setLevel(logging.INFO)
                # Lambda's root handler (or the local runtime's) would print each record a second time, as text.
                target.propagate = False
            _formatter = formatter
    return _formatter
