"""Lazily built AWS clients and DynamoDB item conversion.

Clients are built on first use, never at import, and then reused by warm
invocations. boto3 reads `AWS_ENDPOINT_URL` itself, so the same code talks to
AWS, LocalStack or moto.
"""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@functools.cache
def client(service: str) -> Any:
    import boto3  # imported here so that modules importing this one load fast

    return boto3.session.Session().client(service)


def setting(name: str) -> str:
    """Return the environment variable `name`, raising a clear error when it is unset."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set: the function's template entry must define it")
    return value


def get_document(table_setting: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """Read one item with a consistent read from the table named by the environment variable `table_setting`."""
    response = client("dynamodb").get_item(TableName=setting(table_setting), Key=key, ConsistentRead=True)
    item = response.get("Item")
    return from_item(item) if item else None


def to_item(document: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in document.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def to_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(value)


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal; every number stored here is an integer.
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(entry) for entry in value]
    if isinstance(value, dict):
        return {key: _plain(entry) for key, entry in value.items()}
    return value


def cancellation_codes(error: Exception) -> list[str]:
    """Return the per-item reason codes of a cancelled DynamoDB transaction, in request order."""
    reasons = getattr(error, "response", {}).get("CancellationReasons", [])
    return [reason.get("Code", "None") for reason in reasons]


def is_error(error: Exception, code: str) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") == code


def write_if(operation: str, **arguments: Any) -> bool:
    """Run a conditional DynamoDB write such as `put_item` or `update_item`; returns False when its condition fails."""
    try:
        getattr(client("dynamodb"), operation)(**arguments)
    except Exception as error:
        if is_error(error, "ConditionalCheckFailedException"):
            return False
        raise
    return True
