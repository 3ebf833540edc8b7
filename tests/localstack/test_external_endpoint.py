"""`make local` without LocalStack: the same runtime against an AWS endpoint that it did not start.

This machine cannot pull the LocalStack image, so a moto server in its own
process stands in for it. The runtime gets its URL in AWS_ENDPOINT_URL, as
infra/localstack/up.py passes LocalStack's, provisions the tables and queues
there, and takes an order to PAID through it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import boto3
import pytest
import requests
import yaml

from infra.localstack.up import COMPOSE_FILE, FREE_TAG, LocalStackError, check_image_tag
from tests.e2e.conftest import free_port, start_runtime
from tests.e2e.test_checkout import add_product, place, wait_for


@pytest.fixture(scope="module")
def external_endpoint(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=2)
            break
        except requests.ConnectionError:
            assert process.poll() is None, f"moto server exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"moto server did not answer within 30 s:\n{log_path.read_text()}"
            time.sleep(0.2)

    yield url

    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def runtime(external_endpoint, tmp_path_factory):
    running = start_runtime(tmp_path_factory.mktemp("runtime") / "runtime.log", extra_environment={"AWS_ENDPOINT_URL": external_endpoint})

    yield running

    if running.process.poll() is None:
        running.process.send_signal(signal.SIGINT)
        running.process.wait(timeout=30)


def test_order_reaches_paid_on_external_endpoint(runtime, external_endpoint):
    sku = add_product(runtime, stock=3)

    order_id = place(runtime, sku, 2)
    order = wait_for(runtime, order_id, lambda order: order["status"] in ("PAID", "SHIPPED", "DELIVERED", "PAYMENT_FAILED"))

    assert order["status"] in ("PAID", "SHIPPED")
    assert runtime.stats()["endpointUrl"] == external_endpoint
    assert runtime.stats()["awsCalls"] is None


def test_runtime_provisions_external_endpoint(runtime, external_endpoint):
    dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=external_endpoint)

    tables = dynamodb.list_tables()["TableNames"]

    assert "tradewind-OrdersTable" in tables
    assert "tradewind-InventoryTable" in tables


def test_compose_file_publishes_loopback_only():
    service = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["localstack"]

    assert service["image"] == "localstack/localstack:${LOCALSTACK_IMAGE_TAG:-4.14.0}"
    assert service["ports"] == ["127.0.0.1:4566:4566"]
    assert "healthcheck" in service


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "-f", str(COMPOSE_FILE), "config", "--quiet"], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr


def test_newer_tag_without_token_is_rejected():
    with pytest.raises(LocalStackError, match="LOCALSTACK_AUTH_TOKEN"):
        check_image_tag({"LOCALSTACK_IMAGE_TAG": "4.15.0"})


def test_newer_tag_with_token_is_accepted():
    assert check_image_tag({"LOCALSTACK_IMAGE_TAG": "4.15.0", "LOCALSTACK_AUTH_TOKEN": "token"}) == "4.15.0"
    assert check_image_tag({}) == FREE_TAG
