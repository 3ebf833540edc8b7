"""Fixtures for the container tests: the function images run by ContainerFunction against moto.

The images come from `make images` (`python -m infra.images.build`). These
tests are skipped only when no Docker daemon responds; a missing image fails
them with the command that builds it.
"""

from __future__ import annotations

import uuid

import pytest

from infra.local.containers import ContainerFunction, docker_available

DOCKER_AVAILABLE = docker_available()
REGION = "us-east-1"


def pytest_configure(config):
    config.addinivalue_line("markers", "containers: runs the function images in Docker (skipped when no Docker daemon responds)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="no Docker daemon is reachable (docker info failed), so the function images cannot run")
    for item in items:
        if "tests/containers/" in item.nodeid:
            item.add_marker(pytest.mark.containers)
            if not DOCKER_AVAILABLE:
                item.add_marker(skip)


class Stack:
    """The template's tables and queues in moto, and one warm container pool per function."""

    def __init__(self, deployment, functions: dict[str, ContainerFunction], template) -> None:
        import threading

        import boto3

        from infra.local.streams import StreamPoller

        self.deployment = deployment
        self.functions = functions
        session = boto3.session.Session()
        # The publisher images send the outbox entries, read from the tables' streams.
        self._publishers = [
            StreamPoller(
                session.client("dynamodbstreams"),
                session.client("sqs"),
                source,
                deployment.stream_arns[source.table],
                functions[function.name],
                None,
                REGION,
                threading.Event(),
            )
            for function in template.functions.values()
            for source in function.stream_sources
        ]

    def publish_outboxes(self) -> None:
        for poller in self._publishers:
            while poller.poll_once():
                pass

    def queue_url(self, queue: str) -> str:
        return self.deployment.queue_urls[queue]


@pytest.fixture(scope="module")
def stack(moto_server, template):
    import boto3

    from infra.local.provision import provision

    session = boto3.session.Session()
    deployment = provision(template, session.client("dynamodb"), session.client("sqs"), f"c{uuid.uuid4().hex[:10]}", visibility_timeout=1)
    functions = {}
    try:
        for name, function in template.functions.items():
            environment = {key: str(deployment.resolve(value)) for key, value in function.environment.items()}
            functions[name] = ContainerFunction(function, environment, REGION, concurrency=2, endpoint_url=moto_server.url)
        yield Stack(deployment, functions, template)
    finally:
        for function in functions.values():
            function.stop()
