"""Run schemathesis against the local runtime (`make fuzz`).

Starts `python -m infra.local` on free loopback ports (or uses TARGET, a
running `make run`), seeds a few products, mints an admin token and runs
schemathesis over docs/openapi.json, checking that no response is a server
error or breaks the document. Webhook requests are signed with the runtime's
own secrets (infra/api/fuzz_hooks.py). Exits with schemathesis's exit code.

Settings: TARGET (URL of a running runtime), FUZZ_MAX_EXAMPLES (per
operation, default 60), FUZZ_SEED (default 20261204), SCHEMATHESIS (the
`st` executable; `make fuzz` installs one in .venv-fuzz).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from infra.environment import read_number
from infra.ops.connection import DEFAULT_STACK_NAME, aws_client
from infra.ops.signing import webhook_secret

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)
SEED_PRODUCTS = (("mug", "kitchen", 1250), ("cup", "kitchen", 499), ("lamp", "home", 3900))


def main() -> int:
    schemathesis = os.environ.get("SCHEMATHESIS", "st")
    max_examples = read_number(os.environ, "FUZZ_MAX_EXAMPLES", int, 60, SystemExit)
    seed = read_number(os.environ, "FUZZ_SEED", int, 20261204, SystemExit)
    target = os.environ.get("TARGET")
    runtime = None if target else _start_runtime()
    url = target or runtime[0]
    try:
        admin = _token(url, "fuzz-admin", ["admin", "customer"])
        _seed(url, admin)
        secrets = _webhook_secrets(url)
        command = [
            schemathesis,
            "run",
            f"{url}/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(max_examples),
            "--seed",
            str(seed),
            "--header",
            f"Authorization: Bearer {admin}",
            "--request-timeout",
            "30",
            "--workers",
            "2",
        ]
        print(f"fuzzing {url} with {len(CHECKS)} checks, {max_examples} examples per operation", flush=True)
        hooks = {"SCHEMATHESIS_HOOKS": "infra.api.fuzz_hooks", "PYTHONPATH": str(ROOT)}
        return subprocess.call(command, cwd=ROOT, env={**os.environ, **hooks, **secrets})
    finally:
        if runtime is not None:
            _stop(runtime[1])


def _start_runtime() -> tuple[str, subprocess.Popen]:
    port, moto_port = _free_port(), _free_port()
    log = tempfile.NamedTemporaryFile(prefix="tradewind-fuzz-", suffix=".log", delete=False)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {"PORT": str(port), "MOTO_PORT": str(moto_port)}
    process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the local runtime exited with {process.returncode}; its log is {log.name}")
        try:
            requests.get(f"{url}/_runtime/stats", timeout=2)
            print(f"local runtime on {url}, log in {log.name}", flush=True)
            return url, process
        except requests.ConnectionError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the local runtime did not start within 90 s; its log is {log.name}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _token(url: str, subject: str, roles: list[str]) -> str:
    response = requests.post(f"{url}/_runtime/tokens", json={"subject": subject, "roles": roles, "ttlSeconds": 3600}, timeout=10)
    response.raise_for_status()
    return response.json()["token"]


def _seed(url: str, token: str) -> None:
    """Create a few products so that schemathesis's valid orders can find a price."""
    headers = {"Authorization": f"Bearer {token}"}
    for sku, category, amount in SEED_PRODUCTS:
        body = {"name": sku.title(), "category": category, "price": {"amount": amount, "currency": "USD"}, "stock": 1000}
        requests.put(f"{url}/products/{sku}", json=body, headers=headers, timeout=30).raise_for_status()
    requests.get(f"{url}/_runtime/idle?timeout=30", timeout=40)


def _webhook_secrets(url: str) -> dict[str, str]:
    """Read the payment provider's and the carrier's secrets from the runtime's emulator, as settings for the hooks."""
    endpoint = requests.get(f"{url}/_runtime/stats", timeout=10).json()["endpointUrl"]
    secretsmanager = aws_client("secretsmanager", endpoint)
    stack_name = os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME
    return {
        "FUZZ_PAYMENT_SECRET": webhook_secret("payment", secretsmanager, stack_name),
        "FUZZ_CARRIER_SECRET": webhook_secret("carrier", secretsmanager, stack_name),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
