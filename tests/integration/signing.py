"""Signed calls to the webhook functions, with the secrets the deployment created in moto."""

from __future__ import annotations

import json
import os

import boto3

from shared.signatures import HEADER, sign
from tests.integration.helpers import call


def secrets_client():
    return boto3.session.Session().client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def secret_of(deployment, logical_id: str) -> str:
    """Return the current value of the template secret `logical_id` in this deployment."""
    return secrets_client().get_secret_value(SecretId=deployment.secret_arns[logical_id])["SecretString"]


def rotate(deployment, logical_id: str, value: str) -> None:
    """Put a new current value, as a rotation does; the old one becomes AWSPREVIOUS."""
    secrets_client().put_secret_value(SecretId=deployment.secret_arns[logical_id], SecretString=value)


def signed_call(app, resource: str, path: str, body, secret: str | list[str] | None, timestamp: int | None = None, header: str | None = None):
    """POST `body` as JSON, signed with `secret` (or with the literal `header`; None and no header: unsigned)."""
    raw = json.dumps(body).encode()
    if header is None and secret is not None:
        header = sign(secret, raw, timestamp)
    headers = {HEADER: header} if header is not None else {}
    return call(app, "POST", resource, path, raw_body=raw, caller=None, headers=headers)
