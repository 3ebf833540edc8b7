"""The local gateway's TOKEN authorizer: the real authorizer function, run in-process, against the gateway's own JWKS."""

from __future__ import annotations

import threading

import pytest
import requests

from infra.local.authorizers import AuthorizerOutputError, TokenAuthorizer, _checked_output, policy_allows
from infra.local.gateway import Gateway, Router
from infra.local.identity import AUDIENCE, ISSUER, JWKS_PATH, LocalIdentityProvider, TokenRequest
from infra.local.invoker import InProcessFunction
from infra.local.runtime import ROOT
from infra.local.template import load

TEMPLATE = load(ROOT / "template.yaml")
AUTHORIZER = TEMPLATE.apis["Api"].authorizers["BearerTokenAuthorizer"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def identity():
    provider = LocalIdentityProvider()
    gateway = Gateway(("127.0.0.1", 0), Router([]), {}, identity=provider)
    threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    provider.url = f"http://127.0.0.1:{gateway.server_port}"
    yield provider
    gateway.shutdown()
    gateway.server_close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def authorizer(identity, clock, monkeypatch):
    monkeypatch.setenv("JWKS_URL", identity.url + JWKS_PATH)
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("TOKEN_AUDIENCE", AUDIENCE)
    function = InProcessFunction(TEMPLATE.functions[AUTHORIZER.function], ROOT, "us-east-1", concurrency=1)
    return TokenAuthorizer(AUTHORIZER, function, "us-east-1", "v1", clock=clock)


def bearer(identity: LocalIdentityProvider, subject: str = "c1", roles: tuple[str, ...] = ("customer",), ttl: int = 600) -> str:
    return "Bearer " + identity.mint(TokenRequest(subject=subject, roles=roles, ttl_seconds=ttl))["token"]


def test_missing_header_is_401_without_invocation(authorizer):
    decision = authorizer.authorize(None, "GET", "/orders/o1")

    assert decision.status == 401
    assert authorizer.function.invocations == 0


def test_valid_token_passes_context_as_strings(authorizer, identity):
    decision = authorizer.authorize(bearer(identity, "c7", ("customer", "admin")), "GET", "/orders/o1")

    assert decision.status == 200
    assert decision.context["principalId"] == "c7"
    assert decision.context["sub"] == "c7"
    assert decision.context["roles"] == "admin customer"
    assert decision.context["exp"].isdigit()


def test_decision_is_cached_across_routes(authorizer, identity):
    token = bearer(identity)

    first = authorizer.authorize(token, "GET", "/orders/o1")
    second = authorizer.authorize(token, "POST", "/orders")

    assert (first.status, second.status) == (200, 200)
    assert authorizer.function.invocations == 1


def test_cached_decision_expires_after_reauthorize_every(authorizer, identity, clock):
    token = bearer(identity)
    authorizer.authorize(token, "GET", "/orders/o1")

    clock.now += AUTHORIZER.reauthorize_every
    authorizer.authorize(token, "GET", "/orders/o1")

    assert authorizer.function.invocations == 2


def test_rejected_token_is_401_and_not_cached(authorizer, identity):
    token = bearer(identity, ttl=-60)

    first = authorizer.authorize(token, "GET", "/orders/o1")
    second = authorizer.authorize(token, "GET", "/orders/o1")

    assert (first.status, second.status) == (401, 401)
    assert authorizer.function.invocations == 2


def test_unreachable_jwks_is_500(authorizer, identity, monkeypatch):
    monkeypatch.setenv("JWKS_URL", identity.url + "/no-such-path")
    # A fresh module instance reads the setting again.
    authorizer.function = InProcessFunction(TEMPLATE.functions[AUTHORIZER.function], ROOT, "us-east-1", concurrency=1)

    assert authorizer.authorize(bearer(identity), "GET", "/orders/o1").status == 500


def test_gateway_serves_jwks_and_mints_tokens(identity):
    jwks = requests.get(identity.url + JWKS_PATH, timeout=5).json()
    minted = requests.post(identity.url + "/_runtime/tokens", json={"subject": "c1", "roles": ["customer"], "ttlSeconds": 60}, timeout=5)

    assert jwks["keys"][0]["kid"] == identity.key_id
    assert jwks["keys"][0]["alg"] == "ES256"
    assert "d" not in jwks["keys"][0]
    assert minted.status_code == 200
    assert minted.json()["token"].count(".") == 2


@pytest.mark.parametrize(
    "body",
    [
        {"roles": ["customer"]},
        {"subject": ""},
        {"subject": "c1", "roles": ["root"]},
        {"subject": "c1", "roles": "customer"},
        {"subject": "c1", "ttlSeconds": 0},
        {"subject": "c1", "ttlSeconds": 86401},
        {"subject": "c1", "ttlSeconds": "60"},
        {"subject": "c1", "scope": "all"},
        ["c1"],
    ],
)
def test_token_request_is_validated(identity, body):
    response = requests.post(identity.url + "/_runtime/tokens", json=body, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_TOKEN_REQUEST"


ARN = "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/orders/o1"


def statement(effect: str, resource, action="execute-api:Invoke") -> dict:
    return {"Effect": effect, "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/v1/*/*")], True),
        ([statement("Allow", [ARN])], True),
        ([statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/orders/*")], True),
        ([statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/v1/POST/orders")], False),
        ([statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/orders/o?")], True),
        ([statement("Allow", "*", action="execute-api:*")], True),
        ([statement("Allow", "*", action="s3:GetObject")], False),
        ([statement("Allow", "*"), statement("Deny", ARN)], False),
        ([statement("Deny", "*")], False),
        ([], False),
    ],
)
def test_policy_evaluation(statements, allowed):
    assert policy_allows({"Version": "2012-10-17", "Statement": statements}, ARN) is allowed


@pytest.mark.parametrize(
    "output",
    [
        None,
        {"policyDocument": {"Statement": []}},
        {"principalId": "c1"},
        {"principalId": "c1", "policyDocument": {"Statement": []}, "context": {"nested": {"a": 1}}},
    ],
)
def test_unusable_output_is_rejected(output):
    with pytest.raises(AuthorizerOutputError):
        _checked_output(output)
