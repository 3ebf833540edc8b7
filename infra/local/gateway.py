"""An HTTP server that turns requests into API Gateway REST proxy events for the template's functions."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from infra.local.identity import JWKS_PATH, TOKENS_PATH
from infra.local.invoker import FunctionError

log = logging.getLogger("tradewind.runtime")

# The API's OpenAPI document (`make openapi` writes it), served as API Gateway would export it.
OPENAPI_PATH = "/openapi.json"
OPENAPI_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

STAGE = "v1"
# API Gateway rejects payloads over 10 MB before any function runs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class RouteTarget:
    method: str
    path: str
    segments: tuple[str, ...]
    function: Any  # an object with invoke(event) -> Invocation
    authorizer: Any = None  # an infra.local.authorizers.TokenAuthorizer, None for a public route

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        parameters = {}
        for pattern, segment in zip(self.segments, segments):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                parameters[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return parameters


class Router:
    """Matches a method and path to a route; literal segments win over captures, as in API Gateway."""

    def __init__(self, routes: list[RouteTarget]) -> None:
        self._routes = sorted(routes, key=lambda route: [segment.startswith("{") for segment in route.segments])

    def find(self, method: str, path: str) -> tuple[RouteTarget, dict[str, str]] | None:
        segments = path.strip("/").split("/") if path.strip("/") else []
        for route in self._routes:
            if route.method != method and route.method != "ANY":
                continue
            parameters = route.match(segments)
            if parameters is not None:
                return route, parameters
        return None


def build_event(route: RouteTarget, parameters: dict[str, str], method: str, raw_path: str, headers: dict[str, list[str]], body: bytes, source_ip: str, host: str) -> dict:
    """Build a REST API (v1) proxy integration event."""
    url = urlsplit(raw_path)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    try:
        text_body, encoded = (body.decode("utf-8"), False) if body else (None, False)
    except UnicodeDecodeError:
        text_body, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "resource": route.path,
        "path": url.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {key: values[-1] for key, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{url.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", [""])[-1]},
        },
        "body": text_body,
        "isBase64Encoded": encoded,
    }


# The bodies of the template's GatewayResponses for authorizer outcomes (UNAUTHORIZED, ACCESS_DENIED, DEFAULT_5XX).
AUTHORIZER_ERRORS = {
    401: ("UNAUTHORIZED", "the bearer token is missing, invalid or expired: send Authorization: Bearer <token> with a valid token"),
    403: ("FORBIDDEN", "the token does not allow this request"),
    500: ("INTERNAL_ERROR", "the authorizer failed; see the runtime log"),
}


def error_body(code: str, message: str) -> bytes:
    # Compact, like the functions' own JSON bodies.
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog of 5 resets connections when a
    # burst of clients connects at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], router: Router, runtime_routes: dict[str, Callable[[dict], tuple[int, Any]]], identity: Any = None) -> None:
        super().__init__(address, _Handler)
        self.router = router
        self.runtime_routes = runtime_routes
        # An infra.local.identity.LocalIdentityProvider: serves its JWKS and mints development tokens.
        self.identity = identity


class _Handler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: the headers and the body leave in two writes, and with
    # Nagle's algorithm the body waits for the client's delayed ACK of the
    # headers, which added about 40 ms to every response on Linux.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle()

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches method X to do_X: every method, even one
        # http.server does not know, reaches the router, so it gets the same 404 as an unknown path.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # Each invocation is logged once by _handle; http.server's access log would repeat it.
        pass

    def _handle(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._send(413, error_body("PAYLOAD_TOO_LARGE", f"request body of {length} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit"), close=True)
            return
        body = self.rfile.read(length) if length else b""

        if self.server.identity is not None and path in (JWKS_PATH, TOKENS_PATH):
            self._handle_identity(path, body)
            return
        if path.startswith("/_runtime/"):
            self._handle_runtime(path)
            return
        if path == OPENAPI_PATH and self.command == "GET" and OPENAPI_FILE.is_file():
            self._send(200, OPENAPI_FILE.read_bytes())
            return

        found = self.server.router.find(self.command, path)
        if found is None:
            self._send(404, error_body("ROUTE_NOT_FOUND", f"no route matches {self.command} {path}"))
            return
        route, parameters = found
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        event = build_event(route, parameters, self.command, self.path, headers, body, self.client_address[0], self.headers.get("Host", ""))
        if route.authorizer is not None:
            decision = route.authorizer.authorize(self.headers.get(route.authorizer.header), self.command, path)
            if decision.context is None:
                self._send(decision.status, error_body(*AUTHORIZER_ERRORS[decision.status]))
                return
            event["requestContext"]["authorizer"] = decision.context

        try:
            invocation = route.function.invoke(event)
        except FunctionError as error:
            log.info("invoke function=%s duration_ms=%.1f outcome=error error=%s", route.function.function.name, error.duration_ms, type(error.error).__name__)
            # API Gateway returns 502 when the integration fails.
            self._send(502, error_body("INTERNAL_ERROR", "the function failed; see the runtime log"))
            return
        response = invocation.result
        status = int(response.get("statusCode", 200))
        outcome = "ok" if status < 500 else "server_error"
        log.info("invoke function=%s duration_ms=%.1f outcome=%s status=%d", invocation.function, invocation.duration_ms, outcome, status)
        self._send_proxy_response(response)

    def _handle_runtime(self, path: str) -> None:
        handler = self.server.runtime_routes.get(path)
        if handler is None:
            self._send(404, error_body("ROUTE_NOT_FOUND", f"no runtime route {path}"))
            return
        query = dict(parse_qsl(urlsplit(self.path).query))
        status, document = handler(query)
        if isinstance(document, str):
            # The status page is HTML; every other runtime route returns JSON.
            self._send(status, document.encode(), {"Content-Type": ["text/html; charset=utf-8"]})
            return
        self._send(status, json.dumps(document).encode())

    def _handle_identity(self, path: str, body: bytes) -> None:
        identity = self.server.identity
        if path == JWKS_PATH and self.command == "GET":
            self._send(200, json.dumps(identity.jwks()).encode())
        elif path == TOKENS_PATH and self.command == "POST":
            status, document = identity.handle_token_request(body)
            self._send(status, json.dumps(document).encode())
        else:
            allowed = "GET" if path == JWKS_PATH else "POST"
            self._send(405, error_body("METHOD_NOT_ALLOWED", f"{path} accepts only {allowed}"))

    def _send_proxy_response(self, response: dict) -> None:
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
        headers: dict[str, list[str]] = {name: [value] for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = list(values)
        self._send(int(response.get("statusCode", 200)), payload, headers)

    def _send(self, status: int, payload: bytes, headers: dict[str, list[str]] | None = None, close: bool = False) -> None:
        self.send_response(status)
        headers = headers or {"Content-Type": ["application/json"]}
        for name, values in headers.items():
            if name.lower() in ("content-length", "connection"):
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
