"""The checkout saga end to end with every function running as its container image (INVOKE=container).

The scenarios are the end-to-end tests of tests/e2e/test_checkout.py, run
against a runtime started in container mode: this module's `runtime` fixture
takes the place of the in-process one.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import start_runtime
from tests.e2e.test_checkout import (  # noqa: F401 (collected here as tests)
    test_declined_payment_releases_stock,
    test_order_reaches_delivered,
    test_order_without_stock_is_rejected,
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    running = start_runtime(tmp_path_factory.mktemp("container-runtime") / "runtime.log", extra_environment={"INVOKE": "container", "CONCURRENCY": "2"})
    process = running.process

    yield running

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_runtime_runs_functions_in_containers(runtime):
    runtime.get("/products/no-such-sku")

    assert "cold start of GetProductFunction in container" in runtime.log()
