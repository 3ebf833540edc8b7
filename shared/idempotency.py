"""Idempotency-Key support for mutating HTTP operations, on Powertools' idempotency utility.

A request with an `Idempotency-Key` header runs once: a repeat with the same
key and the same body gets the first response again and changes nothing;
the same key with a different body is rejected with 409. Records live in the
domain's idempotency table for 24 hours.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Callable

from chalice import Chalice, Response

from shared.aws import setting
from shared.errors import Conflict, InvalidRequest

HEADER = "idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
RECORD_LIFETIME_SECONDS = 24 * 3600


def run_once(app: Chalice, table_setting: str, operation: Callable[[], Response], scope: str = "") -> Response:
    """Run `operation` for the current request, once per Idempotency-Key when the header is present.

    `scope` (the caller's subject) keeps one caller's keys apart from another's.
    """
    request = app.current_request
    key = request.headers.get(HEADER)
    if key is None:
        return operation()
    if not _KEY.match(key):
        raise InvalidRequest("INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces", field=HEADER)

    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError, IdempotencyValidationError

    payload = {
        # The key is scoped to the operation and path, so one key cannot replay another route's response.
        "key": f"{app.app_name} {request.method} {request.context.get('resourcePath')} {request.uri_params} {scope} {key}",
        "body": _fingerprint(request.raw_body or b""),
    }
    execute, config = _idempotent(table_setting)
    # The remaining time bounds how long an interrupted request blocks its key.
    config.register_lambda_context(app.lambda_context)
    try:
        stored = execute(operation=operation, payload=payload)
    except IdempotencyValidationError as error:
        raise Conflict("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was already used with a different request body") from error
    except IdempotencyAlreadyInProgressError as error:
        raise Conflict("REQUEST_IN_PROGRESS", "a request with this Idempotency-Key is still running: retry shortly") from error
    return Response(body=stored["body"], status_code=stored["statusCode"], headers={"Content-Type": "application/json"})


def _fingerprint(raw_body: bytes) -> str:
    """Hash the body's JSON content, so that whitespace and key order do not make a repeat look different."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = raw_body
    return hashlib.sha256(canonical).hexdigest()


@functools.cache
def _idempotent(table_setting: str):
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function

    store = DynamoDBPersistenceLayer(table_name=setting(table_setting))
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body", expires_after_seconds=RECORD_LIFETIME_SECONDS)

    @idempotent_function(data_keyword_argument="payload", persistence_store=store, config=config)
    def execute(operation: Callable[[], Response], payload: dict) -> dict:
        response = operation()
        return {"statusCode": response.status_code, "body": response.body}

    return execute, config
