"""Helpers for integration tests: read queues, put products, run handlers."""

from __future__ import annotations

import functools
import os

import boto3

from shared.messages import parse_message
from tests.events import FakeContext, api_event, claims, response_json

# Callers as API Gateway's authorizer describes them.
CUSTOMER = claims("c1", "customer")
ADMIN = claims("staff", "admin")

def sqs():
    return _sqs_client(os.environ["AWS_ENDPOINT_URL"])


@functools.cache
def _sqs_client(endpoint_url: str):
    return boto3.session.Session().client("sqs", endpoint_url=endpoint_url)


def receive_all(queue_url: str, deployment=None) -> list:
    """Publish pending outbox entries, then receive and delete every message in the queue; returns the parsed messages."""
    if deployment is not None:
        deployment.outboxes.flush()
    messages = []
    while True:
        batch = sqs().receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(parse_message(message["Body"]))
            sqs().delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def queue_depth(queue_url: str) -> int:
    attributes = sqs().get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def call(app, method: str, resource: str, path: str, body=None, caller: dict | None = CUSTOMER, **kwargs) -> tuple[int, dict]:
    """Invoke an HTTP handler as `caller` (None: no token); returns the status and the JSON body."""
    response = app(api_event(method, resource, path, body, authorizer=caller, **kwargs), FakeContext())
    return response["statusCode"], response_json(response)


def deliver(handler, *messages) -> dict:
    """Invoke an SQS handler with one record per message; returns the handler's response."""
    from tests.events import sqs_event

    bodies = [message if isinstance(message, str) else message.to_json() for message in messages]
    return handler(sqs_event(*bodies), FakeContext())


def product_body(stock: int, amount: int = 1250, currency: str = "USD") -> dict:
    return {"name": "Mug", "category": "kitchen", "price": {"amount": amount, "currency": currency}, "stock": stock}
