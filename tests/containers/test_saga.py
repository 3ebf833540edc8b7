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


def test_authorizer_verifies_tokens_in_container(runtime):
    # The authorizer's container fetches the JWKS from the gateway through the Docker bridge relay.
    valid = runtime.get("/orders/ord_unknown", token=runtime.token(customer="c1"))
    forged = runtime.get("/orders/ord_unknown", token=runtime.token(customer="c1")[:-4] + "AAAA")

    assert valid.status_code == 404
    assert forged.status_code == 401
    assert "cold start of AuthorizerFunction in container" in runtime.log()


def test_runtime_runs_functions_in_containers(runtime):
    runtime.get("/products/no-such-sku")

    assert "cold start of GetProductFunction in container" in runtime.log()
