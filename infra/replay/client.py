"""An HTTP client for the Tradewind API that counts every error response."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import requests

# Enough to tell a product failure from a data problem, small enough to read.
MAX_ERROR_SAMPLES = 10
REQUEST_TIMEOUT = 30.0  # seconds


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

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        # NOTE: no Idempotency-Key, because the replay never retries a request and
        # each key costs the runtime three more DynamoDB calls.
        response = self._session().request(method, self.base_url + path, json=body, timeout=REQUEST_TIMEOUT)
        if response.status_code >= 400:
            self._count_error(method, path, response)
        return response

    def runtime(self, path: str, timeout: float) -> requests.Response:
        return self._session().get(self.base_url + path, timeout=timeout)

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


def _error_of(response: requests.Response) -> tuple[str, str]:
    """Return the error code and message of an error response, or the HTTP status when the body is not the API's error shape."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", response.text[:200]
