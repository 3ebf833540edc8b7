"""Test set-up shared by every suite: dummy credentials, a local-only guard, and moto on loopback."""

from __future__ import annotations

import logging
import os
import uuid

import pytest

# Set before any boto3 client exists: a client built without these would look
# for real credentials and real endpoints.
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)

from infra.local import guard  # noqa: E402
from infra.local.emulator import MotoServer  # noqa: E402
from infra.local.runtime import ROOT  # noqa: E402

guard.install()
# moto's access log would fill every failure report.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer(port=0)
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template():
    from infra.local.template import load

    return load(ROOT / "template.yaml")


@pytest.fixture
def deployment(moto_server, template, monkeypatch):
    """The template's tables and queues under a fresh name prefix, with every function's environment set."""
    import boto3

    from infra.local.provision import provision

    from shared.aws import client

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    client.cache_clear()
    session = boto3.session.Session()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    result = provision(template, session.client("dynamodb"), session.client("sqs"), prefix, visibility_timeout=1)
    for function in template.functions.values():
        for name, value in function.environment.items():
            monkeypatch.setenv(name, str(result.resolve(value)))

    from tests.integration.outbox import Outboxes

    result.outboxes = Outboxes(result, template)
    return result
