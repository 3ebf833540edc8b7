"""Lambda events for tests: API Gateway REST proxy events and SQS batches with distinct message ids."""

from __future__ import annotations

import hashlib
import json
import time
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


def claims(subject: str, *roles: str, expires_in: float = 3600) -> dict:
    """The request context API Gateway's authorizer adds for a valid token of `subject` with `roles`."""
    return {"principalId": subject, "sub": subject, "roles": " ".join(roles), "exp": str(int(time.time() + expires_in))}


def api_event(
    method: str,
    resource: str,
    path: str,
    body: Any = None,
    raw_body: bytes | None = None,
    content_type: str = "application/json",
    authorizer: dict | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict:
    """A proxy event for `path` (plus `query`) matched to the template route `resource`, with the authorizer's claims if given."""
    route = RouteTarget(method, resource, tuple(resource.strip("/").split("/")), function=None)
    parameters = route.match(path.strip("/").split("/"))
    assert parameters is not None, f"{path} does not match {resource}"
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode()
    all_headers = {"Content-Type": [content_type]} if content_type else {}
    all_headers.update({name: [value] for name, value in (headers or {}).items()})
    event = build_event(route, parameters, method, path + (f"?{query}" if query else ""), all_headers, raw_body or b"", "127.0.0.1", "localhost")
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def sqs_event(*bodies: str, queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:test") -> dict:
    """An SQS batch, one record per body, each with its own message id."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
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
