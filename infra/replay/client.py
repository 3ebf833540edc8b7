"""An HTTP client for the Tradewind API that counts every error response."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, OrderedDict
from typing import Any

import requests

# Enough to tell a product failure from a data problem, small enough to read.
MAX_ERROR_SAMPLES = 10
REQUEST_TIMEOUT = 30.0  # seconds
TOKENS_PATH = "/_runtime/tokens"
ADMIN_SUBJECT = "replay-admin"
TOKEN_TTL_SECONDS = 3600
# A cached token is minted again when it has less than this left, so no request carries an expired one.
TOKEN_RENEW_SECONDS = 300
# One token per Olist customer: only the customers of the orders in flight need theirs kept.
MAX_CACHED_TOKENS = 10_000


class ApiClient:
    """Send API requests from many threads, one `requests.Session` per thread.

    Every API response with status 5xx counts as a server error, and every 4xx
    counts under its error code. Requests to the runtime's own `/_runtime/`
    routes are not counted.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.server_errors = 0
        self.client_errors: Counter[str] = Counter()
        self.error_samples: list[dict] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._tokens: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._tokens_lock = threading.Lock()
        self._webhook_secrets: dict[str, str] = {}
        self._webhook_secrets_lock = threading.Lock()

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> requests.Response:
        """Send a request, with `Authorization: Bearer <token>` when a token is given."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        # NOTE: no Idempotency-Key, because the replay never retries a request and
        # each key costs the runtime three more DynamoDB calls.
        response = self._session().request(method, self.base_url + path, json=body, headers=headers, timeout=REQUEST_TIMEOUT)
        if response.status_code >= 400:
            self._count_error(method, path, response)
        return response

    def runtime(self, path: str, timeout: float) -> requests.Response:
        return self._session().get(self.base_url + path, timeout=timeout)

    def signed_request(self, method: str, path: str, body: Any, sender: str) -> requests.Response:
        """Send `body` as JSON signed with the runtime's `payment` or `carrier` webhook secret, as that sender does."""
        from shared.signatures import HEADER, sign

        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", HEADER: sign(self._webhook_secret(sender), raw)}
        response = self._session().request(method, self.base_url + path, data=raw, headers=headers, timeout=REQUEST_TIMEOUT)
        if response.status_code >= 400:
            self._count_error(method, path, response)
        return response

    def _webhook_secret(self, sender: str) -> str:
        # Read once from the emulator that the runtime's /_runtime/stats names.
        from infra.ops.connection import DEFAULT_STACK_NAME, aws_client
        from infra.ops.signing import webhook_secret

        with self._webhook_secrets_lock:
            if sender not in self._webhook_secrets:
                endpoint = self.runtime("/_runtime/stats", timeout=REQUEST_TIMEOUT).json()["endpointUrl"]
                stack_name = os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME
                self._webhook_secrets[sender] = webhook_secret(sender, aws_client("secretsmanager", endpoint), stack_name)
            return self._webhook_secrets[sender]

    def customer_token(self, customer_id: str) -> str:
        """Return a bearer token for customer `customer_id`, minted by the runtime's `/_runtime/tokens` and cached."""
        return self._token(customer_id, "customer")

    def admin_token(self) -> str:
        """Return a bearer token with the admin role, which the catalogue import needs."""
        return self._token(ADMIN_SUBJECT, "admin")

    def _token(self, subject: str, role: str) -> str:
        key = (subject, role)
        with self._tokens_lock:
            cached = self._tokens.get(key)
            if cached is not None and cached[1] - time.time() > TOKEN_RENEW_SECONDS:
                self._tokens.move_to_end(key)
                return cached[0]

        request = {"subject": subject, "roles": [role], "ttlSeconds": TOKEN_TTL_SECONDS}
        response = self._session().post(self.base_url + TOKENS_PATH, json=request, timeout=REQUEST_TIMEOUT)
        if response.status_code != 200:
            raise TokenError(f"{self.base_url}{TOKENS_PATH} returned HTTP {response.status_code}: {response.text[:200]}; the replay needs a local runtime (make run) as its target")
        minted = response.json()
        with self._tokens_lock:
            self._tokens[key] = (minted["token"], float(minted["expiresAt"]))
            self._tokens.move_to_end(key)
            while len(self._tokens) > MAX_CACHED_TOKENS:
                self._tokens.popitem(last=False)
        return minted["token"]

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _count_error(self, method: str, path: str, response: requests.Response) -> None:
        code, message = _error_of(response)
        with self._lock:
            if response.status_code >= 500:
                self.server_errors += 1
            else:
                self.client_errors[code] += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append({"request": f"{method} {path}", "status": response.status_code, "code": code, "message": message})


class TokenError(Exception):
    """The target returned no bearer token from /_runtime/tokens, so it is not a local runtime."""


def _error_of(response: requests.Response) -> tuple[str, str]:
    """Return the error code and message of an error response, or the HTTP status when the body is not the API's error shape."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", response.text[:200]
