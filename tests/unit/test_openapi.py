"""The OpenAPI document: committed, current, and in agreement with the template's authorizers."""

from __future__ import annotations

import json

from infra.api.openapi import OUTPUT, declared_operations, render
from infra.local.template import load
from infra.local.runtime import ROOT
from shared.api import PUBLIC, SIGNED


def test_committed_document_is_current():
    assert OUTPUT.read_text() == render(), "docs/openapi.json is out of date: run `make openapi`"


def test_every_route_is_declared():
    template = load(ROOT / "template.yaml")
    routes = {(route.method.upper(), route.path) for function in template.functions.values() for route in function.routes}

    declared = {(operation.method, operation.path) for operation in declared_operations()}

    assert declared == routes


def test_public_routes_skip_the_authorizer_and_no_other():
    template = load(ROOT / "template.yaml")
    skips_authorizer = {(route.method.upper(), route.path): route.auth == "NONE" for function in template.functions.values() for route in function.routes}

    for operation in declared_operations():
        assert skips_authorizer[(operation.method, operation.path)] == (operation.access in (PUBLIC, SIGNED)), operation.path


def test_document_is_openapi_3_1_with_error_shape():
    document = json.loads(OUTPUT.read_text())

    assert document["openapi"] == "3.1.0"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert "400" in operation["responses"], f"{method} {path}"
            errors = [response for status, response in operation["responses"].items() if status.startswith("4")]
            assert all(response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"} for response in errors)
