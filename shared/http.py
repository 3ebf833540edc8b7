"""The HTTP edge: Chalice apps that return every failure in one JSON error shape.

Every error body is `{"error": {"code", "message", "field"?}}`. Domain errors
become their own status and code; Chalice's own errors (405, 415, 500) are
rewritten into the same shape, so a client never has to parse two formats.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any, Callable, TypeVar

from chalice import Chalice, Response
from pydantic import BaseModel, ValidationError

from shared.errors import DomainError, InvalidRequest, PayloadTooLarge
from shared.observability import observe_requests

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

_CHALICE_CODES = {
    "MethodNotAllowedError": "METHOD_NOT_ALLOWED",
    "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
    "BadRequestError": "BAD_REQUEST",
    "NotFoundError": "NOT_FOUND",
    "InternalServerError": "INTERNAL_ERROR",
}

_PYDANTIC_CODES = {
    "missing": "MISSING_FIELD",
    "extra_forbidden": "UNEXPECTED_FIELD",
}

# API Gateway takes up to 10 MB; no operation here needs more than a few kilobytes.
MAX_BODY_BYTES = 64 * 1024

# SKUs and ids appear in URLs and DynamoDB keys: keep them to a safe alphabet.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_identifier = re.compile(IDENTIFIER_PATTERN)


def create_app(name: str) -> Chalice:
    app = Chalice(app_name=name)
    app.register_middleware(observe_requests, "http")
    app.register_middleware(_rewrite_chalice_errors, "http")
    return app


def endpoint(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `DomainError` raised by `view` into its JSON error response."""

    @functools.wraps(view)
    def respond(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            log.info("request rejected", extra={"code": error.code, "field": error.field})
            return json_response(error.status, error.to_body())

    return respond


def json_response(status: int, body: Any) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def read_body(app: Chalice, model: type[Model]) -> Model:
    """Parse the current request's JSON body into `model`; raises InvalidRequest."""
    raw = app.current_request.raw_body
    if not raw:
        raise InvalidRequest("MISSING_BODY", "request body is missing: send a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body has {len(raw)} bytes, over the limit of {MAX_BODY_BYTES}")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("INVALID_JSON", f"request body is not valid JSON: {error}") from error
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise invalid_request(error) from error


def invalid_request(error: ValidationError) -> InvalidRequest:
    """Describe the first validation failure with a stable code and the field at fault."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    code = _PYDANTIC_CODES.get(first["type"], "INVALID_FIELD" if field else "INVALID_BODY")
    where = field or "body"
    return InvalidRequest(code, f"{where}: {first['msg']}", field=field)


def check_identifier(value: str, field: str) -> str:
    if not _identifier.match(value):
        raise InvalidRequest(
            "INVALID_IDENTIFIER",
            f"{field} {value!r} is invalid: use 1 to 64 letters, digits, '.', '_' or '-'",
            field=field,
        )
    return value


def _rewrite_chalice_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_CODES.get(body["Code"], "INTERNAL_ERROR")
        response.body = {"error": {"code": code, "message": body["Message"]}}
        response.headers["Content-Type"] = "application/json"
    return response
