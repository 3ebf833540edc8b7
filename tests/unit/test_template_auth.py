"""template.yaml puts a bearer token authorizer on every route but the public ones, and the reader resolves it."""

from __future__ import annotations

import json

import pytest
import yaml

from infra.local.gateway import AUTHORIZER_ERRORS
from infra.local.runtime import ROOT
from infra.local.template import TemplateError, _CloudFormationLoader, load, route_authorizer

TEMPLATE = load(ROOT / "template.yaml")
ROUTES = [route for function in TEMPLATE.functions.values() for route in function.routes]
# Signed webhooks authenticate by their HMAC signature; the catalogue is open to anyone.
PUBLIC_ROUTES = {
    ("GET", "/products"),
    ("GET", "/products/{sku}"),
    ("POST", "/webhooks/payments"),
    ("POST", "/shipments/{shipmentId}/events"),
}


def test_public_routes_have_no_authorizer():
    public = {(route.method, route.path) for route in ROUTES if route_authorizer(TEMPLATE, route) is None}

    assert public == PUBLIC_ROUTES & {(route.method, route.path) for route in ROUTES}


def test_other_routes_use_bearer_token_authorizer():
    for route in ROUTES:
        if (route.method, route.path) in PUBLIC_ROUTES:
            continue
        authorizer = route_authorizer(TEMPLATE, route)
        assert authorizer is not None, f"{route.method} {route.path}"
        assert authorizer.function == "AuthorizerFunction"
        assert authorizer.header == "Authorization"
        assert authorizer.reauthorize_every == 300


def test_authorizer_function_gets_token_settings():
    environment = TEMPLATE.functions["AuthorizerFunction"].environment

    token_settings = {name: value for name, value in environment.items() if not name.startswith("POWERTOOLS_")}
    assert token_settings == {"JWKS_URL": {"Ref": "JwksUrl"}, "TOKEN_ISSUER": {"Ref": "TokenIssuer"}, "TOKEN_AUDIENCE": {"Ref": "TokenAudience"}}


@pytest.mark.parametrize(("response_type", "status"), [("UNAUTHORIZED", 401), ("ACCESS_DENIED", 403)])
def test_gateway_responses_match_local_gateway(response_type, status):
    document = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)
    response = document["Resources"]["Api"]["Properties"]["GatewayResponses"][response_type]

    body = json.loads(response["ResponseTemplates"]["application/json"])

    assert response["StatusCode"] == str(status)
    assert (body["error"]["code"], body["error"]["message"]) == AUTHORIZER_ERRORS[status]


def _template_with(tmp_path, auth: dict, route_auth: dict | None = None):
    route = {"RestApiId": {"Ref": "Api"}, "Path": "/things", "Method": "get", **({"Auth": route_auth} if route_auth else {})}
    document = {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "v1", "Auth": auth}},
            "CheckFunction": {"Type": "AWS::Serverless::Function", "Properties": {"ImageConfig": {"Command": ["check.app"]}}},
            "ThingsFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"ImageConfig": {"Command": ["things.app"]}, "Events": {"Http": {"Type": "Api", "Properties": route}}},
            },
        }
    }
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_reader_applies_sam_defaults(tmp_path):
    path = _template_with(tmp_path, {"DefaultAuthorizer": "Check", "Authorizers": {"Check": {"FunctionArn": {"Fn::GetAtt": ["CheckFunction", "Arn"]}}}})

    template = load(path)
    authorizer = route_authorizer(template, template.functions["ThingsFunction"].routes[0])

    assert (authorizer.function, authorizer.header, authorizer.reauthorize_every) == ("CheckFunction", "Authorization", 300)


@pytest.mark.parametrize(
    ("auth", "route_auth", "message"),
    [
        ({"DefaultAuthorizer": "Missing", "Authorizers": {}}, None, "DefaultAuthorizer Missing"),
        ({"Authorizers": {"Check": {"FunctionArn": {"Fn::GetAtt": ["CheckFunction", "Arn"]}}}}, {"Authorizer": "Other"}, "names the authorizer Other"),
        ({"Authorizers": {"Check": {"FunctionArn": "arn:aws:lambda:us-east-1:1:function:x"}}}, None, "FunctionArn must be !GetAtt"),
        ({"Authorizers": {"Check": {"FunctionArn": {"Fn::GetAtt": ["CheckFunction", "Arn"]}, "FunctionPayloadType": "REQUEST"}}}, None, "only TOKEN"),
    ],
)
def test_reader_rejects_unsupported_auth(tmp_path, auth, route_auth, message):
    path = _template_with(tmp_path, auth, route_auth)

    with pytest.raises(TemplateError, match=message):
        load(path)
