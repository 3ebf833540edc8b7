"""Declaring an HTTP operation once: its route, caller, inputs and response.

`operation` registers a Chalice route and does, in order, what every
operation needs. It checks the caller's role, and validates path parameters,
the query string and the JSON body against pydantic models. Then it runs the
view once per Idempotency-Key and serialises its result through the response model. The
same declaration is what infra/api/openapi.py turns into the OpenAPI
document, so the spec cannot drift from what the code accepts and returns.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from chalice import Chalice, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.auth import caller_from, require_role
from shared.http import check_identifier, endpoint, invalid_request, json_response, read_body
from shared.idempotency import run_once

# Webhooks authenticate by signature, not by bearer token: see shared/signatures.py.
SIGNED = "signed"
PUBLIC = "public"


@dataclass(frozen=True)
class Reply:
    """A view's result with a status other than the operation's default, one of its `also` statuses."""

    status: int
    body: Any


@dataclass(frozen=True)
class Operation:
    """One HTTP operation as the OpenAPI document describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    access: str
    response: Any
    status: int
    also: tuple[int, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    idempotent: bool
    # Conflict and not-found codes the operation may return besides validation and auth errors.
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def path_parameters(self) -> list[str]:
        return [segment[1:-1] for segment in self.path.split("/") if segment.startswith("{")]


def operation(
    app: Chalice,
    method: str,
    path: str,
    *,
    summary: str,
    access: str,
    response: Any,
    status: int = 200,
    also: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    idempotency_table: str | None = None,
    errors: dict[int, tuple[str, ...]] | None = None,
    signed_with: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view` as the route `method path` of `app`.

    `access` is a role (`customer`, `admin`), PUBLIC or SIGNED. The view
    receives the path parameters by name and, when it declares them, `caller`
    (a shared.auth.Caller), `query` and `body` (validated models). It returns
    a value that `response` (a model or type) serialises with `status`, or a
    Reply with one of the `also` statuses. `idempotency_table` names the setting of the domain's
    idempotency table for POST and PUT operations. A SIGNED operation names in
    `signed_with` the setting that contains its secret's ARN; the signature is
    verified before the body is read (shared.signatures).
    """
    if (access == SIGNED) != (signed_with is not None):
        raise ValueError(f"{method} {path}: signed_with names the secret of a SIGNED operation, and only of one")
    adapter = TypeAdapter(response)

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        declared = Operation(
            method=method,
            path=path,
            operation_id=_camel(view.__name__),
            summary=summary,
            access=access,
            response=response,
            status=status,
            also=also,
            body=body,
            query=query,
            idempotent=idempotency_table is not None,
            errors=errors or {},
        )
        operations(app).append(declared)
        wants = set(inspect.signature(view).parameters)

        def run(path_parameters: dict[str, str]) -> Response:
            request = app.current_request
            arguments: dict[str, Any] = dict(path_parameters)
            caller = None
            if access == SIGNED:
                from shared.signatures import verify_request

                verify_request(request, signed_with)
            elif access != PUBLIC:
                caller = require_role(caller_from(request.context), access)
            if "caller" in wants:
                arguments["caller"] = caller
            for name, value in path_parameters.items():
                check_identifier(value, name)
            if query is not None:
                arguments["query"] = read_query(request.query_params, query)

            def execute() -> Response:
                if body is not None:
                    arguments["body"] = read_body(app, body)
                return _respond(view(**arguments), adapter, status)

            if idempotency_table is None:
                return execute()
            return run_once(app, idempotency_table, execute, scope=caller.subject if caller else "")

        @app.route(path, methods=[method], content_types=["application/json"])
        @functools.wraps(view)
        @endpoint
        def handle(**path_parameters: str) -> Response:
            return run(path_parameters)

        return handle

    return register


def operations(app: Chalice) -> list[Operation]:
    """Return the operations registered on `app`, in declaration order."""
    if not hasattr(app, "tradewind_operations"):
        app.tradewind_operations = []
    return app.tradewind_operations


def read_query(parameters: dict[str, str] | None, model: type[BaseModel]) -> BaseModel:
    """Validate the query string against `model`; raises InvalidRequest naming the parameter."""
    try:
        return model.model_validate(dict(parameters or {}))
    except ValidationError as error:
        raise invalid_request(error) from error


def _respond(result: Any, adapter: TypeAdapter, status: int) -> Response:
    if isinstance(result, Reply):
        status, result = result.status, result.body
    try:
        document = adapter.dump_python(adapter.validate_python(result), mode="json", by_alias=True, exclude_none=True)
    except ValidationError as error:
        # The view built a body its own response model rejects: a bug, so a 500 and a log line.
        raise RuntimeError(f"response does not match {adapter}: {error}") from error
    return json_response(status, document)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

