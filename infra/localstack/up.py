"""`make local`: start LocalStack with Docker Compose, wait until it is healthy, then run the local runtime against it.

LocalStack provides DynamoDB and SQS on http://127.0.0.1:4566; the runtime
creates the tables and queues there and runs the API and the queue pollers
itself, as docs/localstack.md explains. Ctrl-C stops the runtime and then
LocalStack (set LOCALSTACK_KEEP=1 to leave it running).

Environment:
  LOCALSTACK_IMAGE_TAG   image tag (default 4.14.0, the last that needs no account)
  LOCALSTACK_AUTH_TOKEN  required for any other tag; passed through to the container
  LOCALSTACK_TIMEOUT     seconds to wait for the healthcheck (default 120)
  LOCALSTACK_KEEP=1      leave LocalStack running on exit
Every setting of `make run` (PORT, INVOKE, CONCURRENCY, ...) applies too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMPOSE_FILE = Path(__file__).with_name("compose.yaml")
FREE_TAG = "4.14.0"
ENDPOINT_URL = "http://127.0.0.1:4566"
SERVICE = "localstack"


class LocalStackError(Exception):
    pass


def check_image_tag(environment: dict[str, str]) -> str:
    """Return the image tag to start; raises LocalStackError for a tag that needs a token when none is set."""
    tag = environment.get("LOCALSTACK_IMAGE_TAG") or FREE_TAG
    if tag != FREE_TAG and not environment.get("LOCALSTACK_AUTH_TOKEN"):
        raise LocalStackError(
            f"LOCALSTACK_IMAGE_TAG={tag} requires a LocalStack account: set LOCALSTACK_AUTH_TOKEN, "
            f"or unset LOCALSTACK_IMAGE_TAG to use {FREE_TAG}, the last tag that starts without one"
        )
    return tag


def compose_command() -> list[str]:
    """Return the Compose command: the `docker compose` plugin when installed, else the standalone docker-compose."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose", "-f", str(COMPOSE_FILE)]
    if shutil.which("docker-compose"):
        return ["docker-compose", "-f", str(COMPOSE_FILE)]
    raise LocalStackError("neither `docker compose` nor docker-compose is installed; install one (Debian: apt-get install docker-compose)")


def wait_healthy(compose: list[str], timeout: float) -> None:
    """Wait until the container's healthcheck passes; raises LocalStackError on timeout or exit."""
    container_id = subprocess.run([*compose, "ps", "-q", SERVICE], capture_output=True, text=True, check=True).stdout.strip()
    if not container_id:
        raise LocalStackError(f"compose started no {SERVICE} container; see `{' '.join(compose)} logs`")
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        state = subprocess.run(["docker", "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", container_id], capture_output=True, text=True)
        running, _, status = state.stdout.strip().partition(" ")
        if status == "healthy":
            return
        if running in ("exited", "dead"):
            raise LocalStackError(f"LocalStack exited while starting; see `{' '.join(compose)} logs {SERVICE}`")
        time.sleep(1)
    raise LocalStackError(f"LocalStack was not healthy within {timeout:.0f} s (last status: {status}); see `{' '.join(compose)} logs {SERVICE}`")


def main() -> int:
    environment = dict(os.environ)
    try:
        tag = check_image_tag(environment)
        compose = compose_command()
    except LocalStackError as error:
        print(f"make local: {error}", file=sys.stderr)
        return 1

    print(f"starting localstack/localstack:{tag} with {' '.join(compose)}", file=sys.stderr)
    try:
        if subprocess.run([*compose, "up", "-d"], env=environment | {"LOCALSTACK_IMAGE_TAG": tag}).returncode != 0:
            raise LocalStackError("compose up failed (is the image present or pullable?); its output is above")
        wait_healthy(compose, float(environment.get("LOCALSTACK_TIMEOUT", "120")))
        print(f"LocalStack is healthy at {ENDPOINT_URL}; starting the local runtime", file=sys.stderr)
        runtime = subprocess.run([sys.executable, "-m", "infra.local"], env=environment | {"AWS_ENDPOINT_URL": ENDPOINT_URL})
        return runtime.returncode
    except LocalStackError as error:
        print(f"make local: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if environment.get("LOCALSTACK_KEEP") != "1":
            subprocess.run([*compose, "down"], env=environment | {"LOCALSTACK_IMAGE_TAG": tag})


if __name__ == "__main__":
    sys.exit(main())
