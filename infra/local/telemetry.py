"""Collect what functions write to stdout: their JSON log lines and their EMF metrics.

In Lambda, a function's stdout goes to CloudWatch Logs, which turns lines in
the embedded metric format (EMF) into metrics. Here in-process functions run
on several threads of one process, so each invocation's stdout is captured on
its own thread. Its EMF lines are added to a `MetricStore`, its error lines to
the recent errors, and its other lines go on to the runtime's log through the
`tradewind.runtime.functions` logger. With FUNCTION_LOG set, every line, EMF
included, is also appended to that file.

NOTE: functions run as containers (INVOKE=container) write to their
containers' logs, which nothing here reads, so their metrics and errors are
missing from the status page.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, TextIO

# A child of the runtime's logger, so that quieting the runtime's lines (as the replay does) quiets these too.
function_log = logging.getLogger("tradewind.runtime.functions")

# How many recent errors the status page shows.
RECENT_ERRORS = 20
MAX_ERROR_MESSAGE = 300


class _ThreadRoutedStdout:
    """A sys.stdout that keeps what a capturing thread writes in that thread's buffer and passes the rest on."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._local = threading.local()

    def start(self) -> None:
        self._local.buffer = []

    def stop(self) -> str:
        buffer = getattr(self._local, "buffer", None) or []
        self._local.buffer = None
        return "".join(buffer)

    def write(self, text: str) -> int:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            return self.stream.write(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if getattr(self._local, "buffer", None) is None:
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding and the rest come from the real stream.
        return getattr(self.stream, name)


@dataclass
class MetricSeries:
    """The running totals of one metric with one set of dimension values."""

    namespace: str
    name: str
    unit: str
    dimensions: dict[str, str]
    sum: float = 0.0
    samples: int = 0
    maximum: float | None = None

    def to_json(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "unit": self.unit,
            "dimensions": self.dimensions,
            "sum": self.sum,
            "samples": self.samples,
            "maximum": self.maximum,
        }


class MetricStore:
    """Sums the metrics of EMF documents per namespace, name and dimension values, as CloudWatch would store them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple, MetricSeries] = {}

    def add(self, document: dict) -> None:
        """Add the values of one EMF document; a document that does not follow the format is ignored."""
        directives = (document.get("_aws") or {}).get("CloudWatchMetrics")
        if not isinstance(directives, list):
            return
        for directive in directives:
            dimension_sets = directive.get("Dimensions") or [[]]
            # Each metric is stored under the first dimension set only, so that a total never counts a value twice.
            dimensions = {name: str(document.get(name)) for name in dimension_sets[0]}
            for metric in directive.get("Metrics") or []:
                values = _numbers(document.get(metric.get("Name")))
                if values:
                    self._record(directive.get("Namespace", ""), metric["Name"], metric.get("Unit", "None"), dimensions, values)

    def series(self) -> list[MetricSeries]:
        with self._lock:
            return sorted(self._series.values(), key=lambda series: (series.name, sorted(series.dimensions.items())))

    def totals(self, unit: str = "Count") -> dict[str, float]:
        """Return the sum of every metric in `unit` over all its dimension values."""
        totals: dict[str, float] = {}
        for series in self.series():
            if series.unit == unit:
                totals[series.name] = totals.get(series.name, 0) + series.sum
        return totals

    def _record(self, namespace: str, name: str, unit: str, dimensions: dict[str, str], values: list[float]) -> None:
        key = (namespace, name, tuple(sorted(dimensions.items())))
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = MetricSeries(namespace, name, unit, dimensions)
            series.sum += sum(values)
            series.samples += len(values)
            series.maximum = max(values + ([series.maximum] if series.maximum is not None else []))


class Telemetry:
    """The functions' output, captured per invocation, parsed, and passed on to the runtime's log.

    Call `start()` before the first function loads, so that the handlers they
    create write to the capturing sys.stdout, and `stop()` at the end.
    """

    def __init__(self, log_file: Path | None = None) -> None:
        self.metrics = MetricStore()
        self._log_file = log_file
        self._file: TextIO | None = None
        self._file_lock = threading.Lock()
        self._errors: deque[dict] = deque(maxlen=RECENT_ERRORS)
        self._errors_lock = threading.Lock()
        self._router: _ThreadRoutedStdout | None = None

    def start(self) -> None:
        if self._log_file is not None:
            self._file = self._log_file.open("a", encoding="utf-8")
        if isinstance(sys.stdout, _ThreadRoutedStdout):
            # Another runtime in this process installed it; a thread's buffer is its own either way.
            self._router = sys.stdout
        else:
            self._router = sys.stdout = _ThreadRoutedStdout(sys.stdout)

    def stop(self) -> None:
        if self._router is not None and sys.stdout is self._router:
            sys.stdout = self._router.stream
        self._router = None
        if self._file is not None:
            with self._file_lock:
                self._file.close()
                self._file = None

    @contextmanager
    def capture(self, function: str) -> Iterator[None]:
        """Capture what the current thread writes to stdout until the block ends, then process it as `function`'s output."""
        router = self._router
        if router is None:
            yield
            return
        router.start()
        try:
            yield
        finally:
            self.consume(function, router.stop())

    def consume(self, function: str, text: str) -> None:
        """Process a function's output: EMF lines become metrics, the other lines go to the runtime's log."""
        lines = [line for line in text.splitlines() if line.strip()]
        self._write_file(lines)
        for line in lines:
            self._consume_line(function, line)

    def record_error(self, function: str, error: BaseException) -> None:
        """Keep an invocation that raised among the recent errors."""
        self._keep_error({"function": function, "time": _now(), "type": type(error).__name__, "message": _first_line(str(error))})

    def recent_errors(self) -> list[dict]:
        """Return the recent errors, the latest first."""
        with self._errors_lock:
            return list(reversed(self._errors))

    def _consume_line(self, function: str, line: str) -> None:
        document = _json_object(line)
        if document is None:
            function_log.info("%s: %s", function, line)
            return
        if "_aws" in document:
            self.metrics.add(document)
            return
        level = logging.getLevelName(str(document.get("level", "INFO")).upper())
        level = level if isinstance(level, int) else logging.INFO
        if level >= logging.ERROR:
            self._keep_error(
                {
                    "function": function,
                    "time": document.get("timestamp") or _now(),
                    "type": document.get("error_type") or document.get("exception_name") or document.get("message"),
                    "message": _first_line(str(document.get("error") or document.get("message") or "")),
                    "correlationId": document.get("correlation_id"),
                    "orderId": document.get("order_id"),
                }
            )
        function_log.log(level, "%s", line)

    def _keep_error(self, error: dict) -> None:
        with self._errors_lock:
            self._errors.append({key: value for key, value in error.items() if value is not None})

    def _write_file(self, lines: list[str]) -> None:
        if self._file is None or not lines:
            return
        with self._file_lock:
            if self._file is not None:
                self._file.write("\n".join(lines) + "\n")
                self._file.flush()


def _json_object(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        document = json.loads(line)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _numbers(value: Any) -> list[float]:
    values = value if isinstance(value, list) else [value]
    return [float(entry) for entry in values if isinstance(entry, (int, float)) and not isinstance(entry, bool)]


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:MAX_ERROR_MESSAGE] if lines else ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
