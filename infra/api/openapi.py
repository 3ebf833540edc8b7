"""Generate the OpenAPI 3.1 document from the template's routes and the functions' declared operations.

`python -m infra.api.openapi` writes docs/openapi.json (`make openapi`);
`--check` exits 1 when the committed file differs from what the code declares.
The local runtime serves the file at /openapi.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from infra.local.template import load
from shared.api import PUBLIC, SIGNED, Operation, operations
from shared.http import IDENTIFIER_PATTERN, MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "openapi.json"
REF_TEMPLATE = "#/components/schemas/{model}"
SIGNATURE_HEADER = "Tradewind-Signature"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable error code; see docs/errors.md."},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "The body field, query parameter, path parameter or header at fault."},
            },
        }
    },
}

_STATUS_TEXT = {
    400: "Invalid path parameter, query string or body",
    401: "Missing, invalid or expired credentials",
    403: "The caller may not do this",
    404: "Not found",
    409: "Conflicts with the current state",
    413: f"Body over {MAX_BODY_BYTES} bytes",
    415: "Body is not application/json",
}


def declared_operations(template_path: Path = ROOT / "template.yaml") -> list[Operation]:
    """Every operation that the template routes to a function, in template order."""
    template = load(template_path)
    found = []
    for function in template.functions.values():
        if not function.routes:
            continue
        module = importlib.import_module(function.handler.rpartition(".")[0])
        app = getattr(module, function.handler.rpartition(".")[2])
        found.extend(operations(app))
    return found


def build(declared: list[Operation]) -> dict:
    """Build the OpenAPI document of `declared`."""
    schemas = _schemas(declared)
    paths: dict[str, dict] = {}
    for operation in declared:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tradewind",
            "version": "1.0.0",
            "description": "Orders, inventory, payments and logistics of a shop. Money is integer minor units plus an ISO 4217 currency code.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**schemas, "Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "RS256 or ES256 token with `sub` and `roles` (customer, admin)."},
            },
        },
    }


def _schemas(declared: list[Operation]) -> dict:
    models: list[tuple[type[BaseModel], str]] = []
    for operation in declared:
        if operation.body is not None:
            models.append((operation.body, "validation"))
        models.append((_response_model(operation), "serialization"))
    _, document = models_json_schema(sorted(set(models), key=lambda pair: (pair[0].__name__, pair[1])), ref_template=REF_TEMPLATE)
    return dict(sorted(document.get("$defs", {}).items()))


def _response_model(operation: Operation) -> type[BaseModel]:
    if not (isinstance(operation.response, type) and issubclass(operation.response, BaseModel)):
        raise TypeError(f"{operation.method} {operation.path}: the response must be a pydantic model, not {operation.response!r}")
    return operation.response


def _operation(operation: Operation) -> dict:
    document: dict = {"operationId": operation.operation_id, "summary": operation.summary}
    parameters = [_path_parameter(name) for name in operation.path_parameters]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Repeats with the same key and body return the first response and change nothing.",
                "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
            }
        )
    if operation.access == SIGNED:
        parameters.append(
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>; see docs/webhooks.md.",
                "schema": {"type": "string"},
            }
        )
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=operation.body.__name__)}}}}
    document["security"] = [] if operation.access in (PUBLIC, SIGNED) else [{"bearer": []}]
    if operation.access not in (PUBLIC, SIGNED):
        document["description"] = f"Requires the {operation.access} role" + (" (admins may act for any customer)." if operation.access == "customer" else ".")
    document["responses"] = _responses(operation)
    return document


def _path_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": IDENTIFIER_PATTERN}}


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    parameters = []
    for name, property_schema in schema["properties"].items():
        property_schema = _without_null({key: value for key, value in property_schema.items() if key != "title" and not (key == "default" and value is None)})
        description = property_schema.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": _inline(property_schema, schema)}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _without_null(property_schema: dict) -> dict:
    """Drop the `null` branch of an optional parameter: a query string can leave a value out but not send null."""
    branches = property_schema.get("anyOf")
    if not branches:
        return property_schema
    non_null = [branch for branch in branches if branch != {"type": "null"}]
    rest = {key: value for key, value in property_schema.items() if key != "anyOf"}
    return {**rest, **non_null[0]} if len(non_null) == 1 else {**rest, "anyOf": non_null}


def _inline(property_schema: dict, owner: dict) -> dict:
    """Replace a `$ref` to the owner's own `$defs` (an enum) by the definition, so query parameters stand alone."""
    text = json.dumps(property_schema)
    for name, definition in owner.get("$defs", {}).items():
        text = text.replace(json.dumps({"$ref": REF_TEMPLATE.format(model=name)}), json.dumps(definition))
    return json.loads(text)


def _responses(operation: Operation) -> dict:
    reference = {"$ref": REF_TEMPLATE.format(model=_response_model(operation).__name__)}
    responses: dict[str, dict] = {}
    for status in (operation.status, *operation.also):
        responses[str(status)] = {"description": "Success", "content": {"application/json": {"schema": reference}}}

    errors: dict[int, list[str]] = {400: [], **{status: list(codes) for status, codes in operation.errors.items()}}
    if operation.idempotent:
        errors[409] = sorted(set(errors.get(409, [])) | {"IDEMPOTENCY_KEY_REUSED", "REQUEST_IN_PROGRESS"})
    if operation.access not in (PUBLIC,):
        errors.setdefault(401, [])
    if operation.access not in (PUBLIC, SIGNED):
        errors.setdefault(403, [])
    if operation.body is not None:
        errors.setdefault(413, [])
        errors.setdefault(415, [])
    for status in sorted(errors):
        description = _STATUS_TEXT[status]
        if errors[status]:
            description += ": " + ", ".join(errors[status])
        responses[str(status)] = {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return responses


def render() -> str:
    return json.dumps(build(declared_operations()), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is not up to date")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.check:
        if not OUTPUT.is_file() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {sum(len(methods) for methods in json.loads(text)['paths'].values())} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
