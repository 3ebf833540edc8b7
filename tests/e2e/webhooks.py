"""Signed webhook calls over HTTP, with the secrets the runtime created in its emulator."""

from __future__ import annotations

import json

import requests

from infra.ops.connection import aws_client
from infra.ops.signing import webhook_secret
from shared.signatures import HEADER, sign


def secret_of(runtime, sender: str) -> str:
    """Return the current `payment` or `carrier` webhook secret of the runtime's default stack."""
    secretsmanager = aws_client("secretsmanager", runtime.stats()["endpointUrl"])
    return webhook_secret(sender, secretsmanager)


def post_signed(runtime, path: str, body, sender: str, secret: str | list[str] | None = None, timestamp: int | None = None, header: str | None = None) -> requests.Response:
    """POST `body` signed as `sender` would (or with `secret`, or with the literal `header`)."""
    raw = json.dumps(body).encode()
    if header is None:
        header = sign(secret if secret is not None else secret_of(runtime, sender), raw, timestamp)
    headers = {"Content-Type": "application/json", HEADER: header}
    return requests.post(runtime.url + path, data=raw, headers=headers, timeout=30)
