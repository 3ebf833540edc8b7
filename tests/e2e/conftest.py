"""Start the local runtime as `make run` does, in a subprocess on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra.local.runtime import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningRuntime:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path
        self._tokens: dict[tuple[str, bool], str] = {}

    def token(self, customer: str | None = None, admin: bool = False) -> str:
        """Return a bearer token from the runtime's `/_runtime/tokens`: customer `customer`'s, or an admin's with `admin=True`.

        Each caller's token is minted once and kept, so it must outlive the test session: it lasts an hour.
        """
        if bool(customer) == admin:
            raise ValueError("name a customer or pass admin=True, not both")
        key = (customer or "admin", admin)
        if key not in self._tokens:
            request = {"subject": key[0], "roles": ["admin" if admin else "customer"], "ttlSeconds": 3600}
            response = requests.post(self.url + "/_runtime/tokens", json=request, timeout=30)
            assert response.status_code == 200, response.text
            self._tokens[key] = response.json()["token"]
        return self._tokens[key]

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **_authorized(kwargs, token))

    def post(self, path: str, body=None, token: str | None = None, **kwargs) -> requests.Response:
        return requests.post(self.url + path, json=body, timeout=30, **_authorized(kwargs, token))

    def put(self, path: str, body=None, token: str | None = None, **kwargs) -> requests.Response:
        return requests.put(self.url + path, json=body, timeout=30, **_authorized(kwargs, token))

    def wait_idle(self, timeout: float = 60) -> None:
        response = self.get(f"/_runtime/idle?timeout={timeout}")
        assert response.status_code == 200, response.text

    def stats(self) -> dict:
        return self.get("/_runtime/stats").json()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)


def _authorized(kwargs: dict, token: str | None) -> dict:
    """Add `Authorization: Bearer <token>` to a request's headers when a token is given."""
    if token is None:
        return kwargs
    return {**kwargs, "headers": {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}}


def start_runtime(log_path: Path, extra_environment: dict | None = None) -> RunningRuntime:
    """Start `python -m infra.local` on free ports and wait until it responds; `extra_environment` adds or overrides settings."""
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("AWS_")
    } | {"PORT": str(port), "MOTO_PORT": str(free_port()), "VISIBILITY_TIMEOUT": "2"} | (extra_environment or {})
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT)
    running = RunningRuntime(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"local runtime exited with {process.returncode}:\n{running.log()}")
        try:
            running.get("/_runtime/stats")
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"local runtime did not start within 60 s:\n{running.log()}")
    return running


@pytest.fixture(scope="session")
def runtime(tmp_path_factory):
    running = start_runtime(tmp_path_factory.mktemp("runtime") / "runtime.log")
    process = running.process

    yield running

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
