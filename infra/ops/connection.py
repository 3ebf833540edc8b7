"""Find the local AWS endpoint and build clients for it, for tools run beside `make run`."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from infra.local import guard

DEFAULT_STACK_NAME = "tradewind"
DEFAULT_RUNTIME_PORT = 3000
START_HINT = "start the local runtime with `make run`, or set AWS_ENDPOINT_URL to a running emulator"


class EndpointUnavailable(Exception):
    """The AWS endpoint cannot be found or reached. The message names the next step."""


def runtime_url() -> str:
    """Return the base URL of the local runtime's API, on loopback at `PORT` (default 3000)."""
    return f"http://127.0.0.1:{os.environ.get('PORT') or DEFAULT_RUNTIME_PORT}"


def resolve_endpoint(explicit: str | None, service: str = "dynamodb") -> str:
    """Return the AWS endpoint to use: `explicit`, else AWS_ENDPOINT_URL, else the one the running runtime reports.

    For `service="sqs"`, AWS_ENDPOINT_URL_SQS and the runtime's
    `sqsEndpointUrl` come first, because the runtime may serve SQS from a
    second emulator. Raises EndpointUnavailable when none is set and the
    runtime does not respond, and guard.NonLocalEndpoint when the endpoint is
    not on loopback.
    """
    endpoint = explicit or (service == "sqs" and os.environ.get("AWS_ENDPOINT_URL_SQS")) or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        stats = fetch_runtime_json("/_runtime/stats", timeout=5)
        endpoint = (service == "sqs" and stats.get("sqsEndpointUrl")) or stats.get("endpointUrl")
        if not endpoint:
            raise EndpointUnavailable(f"the runtime at {runtime_url()} did not report an endpointUrl; {START_HINT}")
    guard.check_endpoint(endpoint)
    return endpoint


def fetch_runtime_json(path: str, timeout: float) -> dict:
    """GET a JSON document from the local runtime. Raises EndpointUnavailable when the runtime does not respond."""
    url = runtime_url() + path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        # The idle endpoint returns 503 with a JSON body while queues still contain messages.
        return json.load(error)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise EndpointUnavailable(f"AWS_ENDPOINT_URL is not set and no local runtime responded at {url} ({error}); {START_HINT}") from error


def aws_client(service: str, endpoint_url: str) -> Any:
    """Build a client for `service` on the local endpoint, with dummy credentials and few retries."""
    import boto3
    from botocore.config import Config

    guard.install()
    # The credentials are dummies on purpose, because an emulator accepts any and real ones must never be sent.
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
    )
    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 2})
    return session.client(service, endpoint_url=endpoint_url, config=config)
