"""moto as an AWS endpoint on 127.0.0.1, counting the calls made to it by service."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from typing import Any

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class CallCounter:
    """Counts AWS API calls by service (`dynamodb`, `sqs`, ...) and by action, and their billing units (see metering.py)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._units: Counter[str] = Counter()

    def record(self, service: str, action: str) -> None:
        with self._lock:
            self._calls[(service, action)] += 1

    def add_units(self, name: str, amount: float) -> None:
        with self._lock:
            self._units[name] += amount

    def units(self) -> dict[str, float]:
        with self._lock:
            return dict(sorted(self._units.items()))

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


CALLS_PATH = "/_tradewind/calls"


def build_app(calls: CallCounter):
    """moto's WSGI app, patched, with every call counted and metered, and DynamoDB requests serialised."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import moto_patches
    from infra.local.metering import UsageMeter

    moto_patches.install()
    moto_app = DomainDispatcherApplication(create_backend_app)
    # moto's DynamoDB backend is not thread-safe: concurrent transactions
    # fail with "dictionary changed size during iteration". One request at
    # a time is also what makes the item-level rollback in moto_patches safe.
    dynamodb_lock = threading.Lock()
    meter = UsageMeter(calls.add_units)

    def counting_app(environ, start_response):
        if environ.get("PATH_INFO") == CALLS_PATH:
            body = json.dumps({"byService": calls.by_service(), "byAction": calls.by_action(), "units": calls.units()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        service, action = _service_and_action(environ)
        calls.record(service, action)
        if service == "dynamodb":
            with dynamodb_lock:
                return list(meter.call(service, action, environ, start_response, moto_app))
        return meter.call(service, action, environ, start_response, moto_app)

    return counting_app


class MotoServer:
    """moto's server app on a loopback port, in a background thread of this process."""

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
        from werkzeug.serving import make_server

        counting_app = build_app(self.calls)
        self._server = make_server(self.host, self.port, counting_app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class RemoteCallCounter:
    """Reads the call counts of an emulator running in another process."""

    def __init__(self, url: str) -> None:
        self._url = url + CALLS_PATH

    def _read(self) -> dict:
        with urllib.request.urlopen(self._url, timeout=10) as response:  # noqa: S310 (a loopback URL built here)
            return json.load(response)

    def by_service(self) -> dict[str, int]:
        return self._read()["byService"]

    def by_action(self) -> dict[str, int]:
        return self._read()["byAction"]

    def units(self) -> dict[str, float]:
        return self._read()["units"]


def _check_port_free(host: str, port: int) -> None:
    """Raise OSError naming the port when something already listens on it."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(error.errno, f"port {host}:{port} is in use") from None


class MotoProcess:
    """moto in a child process on a loopback port, so that it has a CPU core of its own.

    The local runtime, its functions and moto are all CPU-bound Python; in one
    process they share one core through the GIL.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._process: subprocess.Popen | None = None
        self.calls: RemoteCallCounter | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start moto's process; raises OSError when its port is taken or it does not start."""
        if self.port:
            _check_port_free(self.host, self.port)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.emulator", "--host", self.host, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline()
        if not line.startswith("listening "):
            self._process.kill()
            raise OSError(f"moto did not start on {self.host}:{self.port} (its error output is above)")
        self.port = int(line.split()[1])
        self.calls = RemoteCallCounter(self.url)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


def main() -> None:
    import argparse
    import logging
    import signal

    parser = argparse.ArgumentParser(description="moto on a loopback port, patched and counting calls (the local runtime starts it)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    arguments = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Ctrl-C in a terminal reaches the whole process group. The runtime that
    # started this process stops its pollers first and then terminates it, so
    # the emulator must outlive the interrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = MotoServer(arguments.host, arguments.port)
    server.start()
    print(f"listening {server.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    server._thread.join()


if __name__ == "__main__":
    main()
