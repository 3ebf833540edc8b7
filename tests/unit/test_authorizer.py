"""The TOKEN authorizer against a JWKS served over HTTP on loopback, as an identity provider serves it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from functions.auth.authorizer import app as authorizer
from infra.local.identity import LocalIdentityProvider, TokenRequest

ISSUER = "https://issuer.test/"
AUDIENCE = "tradewind-api"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/orders/ord_1"


class KeySetServer(ThreadingHTTPServer):
    """Serve `keys` as a JWKS at /jwks.json and count the requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _KeySetHandler)
        self.keys: list[dict] = []
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/jwks.json"


class _KeySetHandler(BaseHTTPRequestHandler):
    server: KeySetServer

    def do_GET(self) -> None:
        self.server.requests += 1
        body = json.dumps({"keys": self.server.keys}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def provider():
    return LocalIdentityProvider(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def serve_key_set(keys: list[dict]) -> KeySetServer:
    server = KeySetServer()
    server.keys = keys
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def key_set(provider, rsa_key):
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    server = serve_key_set([*provider.jwks()["keys"], {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"}])
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(key_set, monkeypatch):
    """The authorizer's settings pointing at the key set server, and a fresh verifier."""
    key_set.requests = 0
    monkeypatch.setenv("JWKS_URL", key_set.url)
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("TOKEN_AUDIENCE", AUDIENCE)
    authorizer.verifier.cache_clear()
    yield key_set
    authorizer.verifier.cache_clear()


def claims(**overrides) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "c1", "roles": ["customer"], "iat": now, "exp": now + 600} | overrides


def es256(provider: LocalIdentityProvider, payload: dict, **headers) -> str:
    return jwt.encode(payload, provider._private_key, algorithm="ES256", headers={"kid": provider.key_id, **headers})


def event(token: str) -> dict:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}


def unsigned(header: dict, payload: dict) -> str:
    def part(document: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


def test_valid_token_allows_whole_api(provider, configured):
    token = provider.mint(TokenRequest(subject="c1", roles=("customer",), ttl_seconds=600))["token"]

    response = authorizer.authorize(event(token), None)

    assert response["principalId"] == "c1"
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]}
    ]
    assert response["context"]["sub"] == "c1"
    assert response["context"]["roles"] == "customer"
    assert int(response["context"]["exp"]) > time.time()


def test_rs256_token_is_accepted(rsa_key, configured):
    token = jwt.encode(claims(sub="ops", roles=["admin", "customer"]), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})

    response = authorizer.authorize(event(token), None)

    assert response["principalId"] == "ops"
    assert response["context"]["roles"] == "admin customer"


def test_unknown_roles_are_dropped(provider, configured):
    token = es256(provider, claims(roles=["customer", "root"]))

    assert authorizer.authorize(event(token), None)["context"]["roles"] == "customer"


def test_missing_roles_claim_grants_none(provider, configured):
    payload = claims()
    del payload["roles"]

    assert authorizer.authorize(event(es256(provider, payload)), None)["context"]["roles"] == ""


def test_scheme_is_case_insensitive(provider, configured):
    token = es256(provider, claims())

    response = authorizer.authorize({**event(token), "authorizationToken": f"bearer {token}"}, None)

    assert response["principalId"] == "c1"


def _hs256_with_public_key(provider: LocalIdentityProvider) -> str:
    # PyJWT refuses to sign HS256 with a PEM key, so the token is built by hand, as an attacker would.
    pem = provider._private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head_and_body = unsigned({"alg": "HS256", "typ": "JWT", "kid": provider.key_id}, claims())[:-1]
    signature = hmac.new(pem, head_and_body.encode(), hashlib.sha256).digest()
    return f"{head_and_body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


REJECTED = {
    "expired": lambda provider: es256(provider, claims(exp=int(time.time()) - 5)),
    "wrong issuer": lambda provider: es256(provider, claims(iss="https://other.test/")),
    "wrong audience": lambda provider: es256(provider, claims(aud="another-api")),
    "no subject": lambda provider: es256(provider, {key: value for key, value in claims().items() if key != "sub"}),
    "no expiry": lambda provider: es256(provider, {key: value for key, value in claims().items() if key != "exp"}),
    "roles not a list": lambda provider: es256(provider, claims(roles="admin")),
    "key not in the JWKS": lambda provider: jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": provider.key_id}),
    "unknown key id": lambda provider: jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "other"}),
    "no key id": lambda provider: jwt.encode(claims(), provider._private_key, algorithm="ES256"),
    "alg none": lambda provider: unsigned({"alg": "none", "typ": "JWT", "kid": provider.key_id}, claims()),
    "HS256 with the public key": _hs256_with_public_key,
    "garbage": lambda provider: "not-a-jwt",
}


@pytest.mark.parametrize("case", REJECTED, ids=list(REJECTED))
def test_invalid_token_is_unauthorized(provider, configured, case):
    token = REJECTED[case](provider)

    with pytest.raises(authorizer.Unauthorized) as raised:
        authorizer.authorize(event(token), None)

    assert str(raised.value) == "Unauthorized"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer  ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_header_without_bearer_token_is_unauthorized(configured, header):
    with pytest.raises(authorizer.Unauthorized):
        authorizer.authorize({"type": "TOKEN", "authorizationToken": header, "methodArn": METHOD_ARN}, None)


def test_rejection_logs_reason_not_token(provider, configured, caplog):
    token = es256(provider, claims(exp=int(time.time()) - 5))

    with pytest.raises(authorizer.Unauthorized):
        authorizer.authorize(event(token), None)

    assert "ExpiredSignatureError" in caplog.text
    assert token not in caplog.text


def test_key_set_is_fetched_once(provider, configured):
    first = es256(provider, claims(sub="c1"))
    second = es256(provider, claims(sub="c2"))

    authorizer.authorize(event(first), None)
    authorizer.authorize(event(second), None)

    assert configured.requests == 1


def test_unreachable_key_set_is_not_unauthorized(provider, monkeypatch):
    stopped = serve_key_set(provider.jwks()["keys"])
    stopped.shutdown()
    stopped.server_close()
    monkeypatch.setenv("JWKS_URL", stopped.url)
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("TOKEN_AUDIENCE", AUDIENCE)
    authorizer.verifier.cache_clear()

    with pytest.raises(authorizer.KeySetUnavailable):
        authorizer.authorize(event(es256(provider, claims())), None)
    authorizer.verifier.cache_clear()


def test_missing_settings_are_named(monkeypatch):
    monkeypatch.delenv("JWKS_URL", raising=False)
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.delenv("TOKEN_AUDIENCE", raising=False)
    authorizer.verifier.cache_clear()

    with pytest.raises(RuntimeError, match="JWKS_URL, TOKEN_AUDIENCE"):
        authorizer.verifier()
    authorizer.verifier.cache_clear()
