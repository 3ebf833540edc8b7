"""moto as an AWS endpoint on 127.0.0.1, counting the calls made to it by service."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class CallCounter:
    """Counts AWS API calls by service (`dynamodb`, `sqs`, ...) and by action."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()

    def record(self, service: str, action: str) -> None:
        with self._lock:
            self._calls[(service, action)] += 1

    def by_service(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        with self._lock:
            for (service, _action), count in self._calls.items():
                totals[service] += count
        return dict(totals)

    def by_action(self) -> dict[str, int]:
        with self._lock:
            return {f"{service}:{action}": count for (service, action), count in sorted(self._calls.items())}


def _service_and_action(environ: dict[str, Any]) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(1) if scope else "unknown"
    action = target.rsplit(".", 1)[-1] if target else environ.get("REQUEST_METHOD", "?")
    return service, action


class MotoServer:
    """moto's server app on a loopback port, in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.calls = CallCounter()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from infra.local import moto_patches

        moto_patches.install()
        moto_app = DomainDispatcherApplication(create_backend_app)
        calls = self.calls
        # moto's DynamoDB backend is not thread-safe: concurrent transactions
        # fail with "dictionary changed size during iteration". One request at
        # a time is also what makes the item-level rollback in moto_patches safe.
        dynamodb_lock = threading.Lock()

        def counting_app(environ, start_response):
            service, action = _service_and_action(environ)
            calls.record(service, action)
            if service == "dynamodb":
                with dynamodb_lock:
                    return list(moto_app(environ, start_response))
            return moto_app(environ, start_response)

        self._server = make_server(self.host, self.port, counting_app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
