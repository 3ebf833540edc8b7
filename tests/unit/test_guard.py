"""The guard stops boto3 clients that would reach real AWS."""

import boto3
import pytest

from infra.local.guard import NonLocalEndpoint


def test_client_without_local_endpoint_fails_at_once():
    client = boto3.session.Session().client("sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com")

    with pytest.raises(NonLocalEndpoint):
        client.list_queues()
