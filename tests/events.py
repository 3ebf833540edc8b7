"""Lambda events for tests: API Gateway REST proxy events and SQS batches with distinct message ids."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from infra.local.gateway import RouteTarget, build_event


class FakeContext:
    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(method: str, resource: str, path: str, body: Any = None, raw_body: bytes | None = None, content_type: str = "application/json") -> dict:
    """A proxy event for `path` matched to the template route `resource`."""
    route = RouteTarget(method, resource, tuple(resource.strip("/").split("/")), function=None)
    parameters = route.match(path.strip("/").split("/"))
    assert parameters is not None, f"{path} does not match {resource}"
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode()
    headers = {"Content-Type": [content_type]} if content_type else {}
    return build_event(route, parameters, method, path, headers, raw_body or b"", "127.0.0.1", "localhost")


def sqs_event(*bodies: str, queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:test") -> dict:
    """An SQS batch, one record per body, each with its own message id."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's checksum)
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def response_json(response: dict) -> Any:
    return json.loads(response["body"])


def scheduled_event() -> dict:
    """An EventBridge scheduled event, as a `rate(...)` rule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/expire-orders"],
        "detail": {},
    }
