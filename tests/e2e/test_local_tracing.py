"""The local runtime turns tracing off for its functions, because no X-Ray daemon or OTLP collector runs locally."""

from __future__ import annotations

import os

from infra.local.runtime import LocalRuntime, Settings

TRACING_SWITCHES = ("POWERTOOLS_TRACE_DISABLED", "OTEL_SDK_DISABLED")


def test_runtime_disables_tracing_while_running(monkeypatch):
    for name in TRACING_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    runtime = LocalRuntime(Settings(port=0, moto_port=0, endpoint_url=None))

    runtime.start()
    try:
        while_running = {name: os.environ.get(name) for name in TRACING_SWITCHES}
    finally:
        runtime.stop()
    after_stop = {name: os.environ.get(name) for name in TRACING_SWITCHES}

    # In-process functions read this process's environment.
    assert while_running == {"POWERTOOLS_TRACE_DISABLED": "true", "OTEL_SDK_DISABLED": "true"}
    assert after_stop == {"POWERTOOLS_TRACE_DISABLED": None, "OTEL_SDK_DISABLED": None}
