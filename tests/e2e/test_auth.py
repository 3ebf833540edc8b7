"""Bearer tokens over HTTP: the runtime's TOKEN authorizer, its JWKS and development tokens, and `make token`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.local.runtime import ROOT
from tests.e2e.conftest import free_port
from tests.e2e.saga import add_product, new_sku, place

PRODUCT = {"name": "Mug", "category": "kitchen", "price": {"amount": 1250, "currency": "USD"}, "stock": 5}


def _segment(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def _signed_by_other_key(runtime) -> str:
    token = runtime.token(customer="c1")
    return jwt.encode(_claims_of(token), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": _header_of(token)["kid"]})


def _unknown_key_id(runtime) -> str:
    return jwt.encode(_claims_of(runtime.token(customer="c1")), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "not-in-the-jwks"})


def _alg_none(runtime) -> str:
    token = runtime.token(customer="c1")
    return f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': _header_of(token)['kid']})}.{_segment(_claims_of(token))}."


def _hs256_with_public_key(runtime) -> str:
    token = runtime.token(customer="c1")
    jwk = runtime.get("/.well-known/jwks.json").json()["keys"][0]
    public_key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': jwk['kid']})}.{_segment(_claims_of(token))}"
    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


def _expired(runtime) -> str:
    response = runtime.post("/_runtime/tokens", {"subject": "c1", "roles": ["customer"], "ttlSeconds": -60})
    assert response.status_code == 200, response.text
    return response.json()["token"]


INVALID_TOKENS = {
    "expired": _expired,
    "signed by a key not in the JWKS": _signed_by_other_key,
    "unknown key id": _unknown_key_id,
    "alg none": _alg_none,
    "HS256 with the public key": _hs256_with_public_key,
    "garbage": lambda runtime: "garbage",
}


def invocations(runtime, function: str) -> int:
    return runtime.stats()["invocations"][function]["count"]


def test_missing_token_is_401_without_invocation(runtime):
    before = invocations(runtime, "PlaceOrderFunction")

    response = runtime.post("/orders", {"lines": [{"sku": "mug-1", "quantity": 1}], "payment": {"token": "tok_success"}})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert invocations(runtime, "PlaceOrderFunction") == before


@pytest.mark.parametrize("case", INVALID_TOKENS, ids=list(INVALID_TOKENS))
def test_invalid_token_is_401(runtime, case):
    token = INVALID_TOKENS[case](runtime)

    response = runtime.put(f"/products/{new_sku()}", PRODUCT, token=token)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_non_bearer_scheme_is_401(runtime):
    response = runtime.put(f"/products/{new_sku()}", PRODUCT, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})

    assert response.status_code == 401


def test_customer_on_admin_route_is_403(runtime):
    response = runtime.put(f"/products/{new_sku()}", PRODUCT, token=runtime.token(customer="c1"))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_valid_tokens_reach_functions(runtime):
    sku = new_sku()

    created = runtime.put(f"/products/{sku}", PRODUCT, token=runtime.token(admin=True))
    runtime.wait_idle()
    order_id = place(runtime, sku, 1, customer="c1")
    order = runtime.get(f"/orders/{order_id}", token=runtime.token(customer="c1"))

    assert created.status_code == 201
    assert order.status_code == 200
    assert order.json()["orderId"] == order_id


def test_public_route_needs_no_token(runtime):
    sku = add_product(runtime, stock=2)

    response = runtime.get(f"/products/{sku}")

    assert response.status_code == 200
    assert response.json()["stock"] == 2


def test_decision_is_cached_per_token(runtime):
    response = runtime.post("/_runtime/tokens", {"subject": "cache-check", "roles": ["customer"]})
    token = response.json()["token"]
    before = invocations(runtime, "AuthorizerFunction")

    first = runtime.get("/orders/ord_unknown_1", token=token)
    second = runtime.get("/orders/ord_unknown_2", token=token)

    assert (first.status_code, second.status_code) == (404, 404)
    assert invocations(runtime, "AuthorizerFunction") == before + 1


def test_jwks_has_public_key_only(runtime):
    keys = runtime.get("/.well-known/jwks.json").json()["keys"]

    assert len(keys) == 1
    assert keys[0]["kty"] == "EC"
    assert keys[0]["alg"] == "ES256"
    assert "d" not in keys[0]


def test_minted_token_carries_request(runtime):
    response = runtime.post("/_runtime/tokens", {"subject": "c9", "roles": ["customer", "admin"], "ttlSeconds": 120})

    claims = _claims_of(response.json()["token"])

    assert claims["sub"] == "c9"
    assert claims["roles"] == ["customer", "admin"]
    assert claims["exp"] - claims["iat"] == 120
    assert response.json()["expiresAt"] == claims["exp"]


def test_invalid_token_request_is_400(runtime):
    response = runtime.post("/_runtime/tokens", {"subject": "c1", "roles": ["superuser"]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_TOKEN_REQUEST"


def _make_token(port: int, *arguments: str) -> subprocess.CompletedProcess:
    # -o keeps make from reinstalling .venv when a requirements file is newer than its stamp.
    command = ["make", "-s", "-o", ".venv/.installed", "token", *arguments, f"PORT={port}", f"PYTHON={sys.executable}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_make_token_prints_only_token(runtime):
    port = int(runtime.url.rsplit(":", 1)[1])

    customer = _make_token(port, "CUSTOMER=c1")
    admin = _make_token(port, "ADMIN=1")

    assert customer.returncode == 0, customer.stderr
    assert customer.stdout.count("\n") == 1
    assert _claims_of(customer.stdout.strip())["roles"] == ["customer"]
    assert admin.returncode == 0, admin.stderr
    assert _claims_of(admin.stdout.strip())["roles"] == ["admin"]
    response = runtime.put(f"/products/{new_sku()}", PRODUCT, token=admin.stdout.strip())
    assert response.status_code == 201


def test_make_token_without_runtime_fails_clearly():
    port = free_port()

    result = _make_token(port, "CUSTOMER=c1")

    assert result.returncode != 0
    assert result.stdout == ""
    assert f"no local runtime is listening on 127.0.0.1:{port}" in result.stderr


def test_token_routes_reject_other_methods(runtime):
    assert requests.get(runtime.url + "/_runtime/tokens", timeout=10).status_code == 405
    assert requests.post(runtime.url + "/.well-known/jwks.json", timeout=10).status_code == 405
