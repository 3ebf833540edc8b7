#!/usr/bin/env python3
"""Check that a Lambda Python base image can build and invoke a function.

The probe writes a one-line echo handler into a temporary folder, builds an
image FROM the base, runs it with the Runtime Interface Emulator (RIE) on a
free port of 127.0.0.1, and invokes it once cold and several times warm. It
prints the round-trip times it measures and the RIE's REPORT lines (Init
Duration, Duration), then removes the container, the image and the folder.

NOTE: with aws-lambda-rie from aws-sam-cli 1.170.0, the "Init Duration" in the
first REPORT line stays under 1 ms, and the Python start-up (interpreter,
awslambdaric, handler import) is counted in that line's Duration instead. The
RIE's "INIT REPORT(durationMs: ...)" line measures that start-up, and the probe
prints it as the init duration.

Usage: python3 infra/images/probe.py [--base-image IMAGE] [--warm-invocations N]
Exits with status 1 if the build, the container or an invocation fails.
"""

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_BASE_IMAGE = "tradewind/lambda-python-offline:3.13"
PROBE_IMAGE = "tradewind/lambda-probe:latest"
HANDLER = "echo_probe.handler"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
PAYLOAD = {"a": 1}
STARTUP_TIMEOUT_SECONDS = 30.0
INVOKE_TIMEOUT_SECONDS = 30.0

HANDLER_SOURCE = '''\
def handler(event, context):
    return {"echo": event}
'''

DOCKERFILE_TEMPLATE = """\
FROM {base_image}
COPY echo_probe.py ${{LAMBDA_TASK_ROOT}}/
"""

# The RIE prints one INIT REPORT line after the runtime has loaded the handler,
# then one REPORT line per invocation, with "Init Duration" only on the first:
# 04 Dec 2026 20:04:28,125 [INFO] (rapid) INIT REPORT(durationMs: 557.181000)
# REPORT RequestId: 1a2b...  Init Duration: 0.31 ms  Duration: 560.19 ms ...
REPORT_PATTERN = re.compile(r"(?:INIT REPORT\(durationMs: [\d.]+\)|REPORT RequestId: \S+.*)")
INIT_REPORT_PATTERN = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
INIT_DURATION_PATTERN = re.compile(r"Init Duration: ([\d.]+) ms")


class ProbeError(Exception):
    """A step of the probe failed. The message names the step and the cause."""


def run_docker(*args: str) -> str:
    """Run a docker command and return its stdout, raising ProbeError on failure."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ProbeError(f"docker {' '.join(args[:2])} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def build_probe_image(base_image: str, build_dir: Path) -> float:
    """Build the echo function image in build_dir and return the build time in seconds."""
    (build_dir / "echo_probe.py").write_text(HANDLER_SOURCE)
    (build_dir / "Dockerfile").write_text(DOCKERFILE_TEMPLATE.format(base_image=base_image))
    started = time.monotonic()
    run_docker("build", "-q", "-t", PROBE_IMAGE, str(build_dir))
    return time.monotonic() - started


def invoke(port: int) -> tuple[dict, float]:
    """POST PAYLOAD to the RIE and return the decoded response and the round-trip time in ms.

    Raises ConnectionError while the RIE is not listening yet, and ProbeError for any other failure.
    """
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{INVOKE_PATH}",
        data=json.dumps(PAYLOAD).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionError):
            raise error.reason from error
        raise ProbeError(f"invocation on port {port} failed: {error}") from error
    elapsed_ms = (time.monotonic() - started) * 1000
    try:
        return json.loads(body), elapsed_ms
    except json.JSONDecodeError as error:
        raise ProbeError(f"invocation returned a body that is not JSON: {body[:200]!r}") from error


def invoke_when_ready(port: int, container_id: str) -> tuple[dict, float]:
    """Retry the first invocation until the RIE responds, and return it like invoke().

    Docker's port proxy accepts connections before the RIE inside the container
    listens and resets them until it does, so a reset or refused connection
    only means "not ready yet" while the container is running.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            return invoke(port)
        except ConnectionError as error:
            running = run_docker("inspect", "--format", "{{.State.Running}}", container_id).strip()
            if running != "true":
                logs = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
                raise ProbeError(
                    f"container {container_id[:12]} exited before responding. Its log:\n{logs.stdout}{logs.stderr}"
                ) from error
            if time.monotonic() > deadline:
                raise ProbeError(
                    f"the RIE on 127.0.0.1:{port} did not respond within {STARTUP_TIMEOUT_SECONDS:.0f} s (timed out): {error}"
                ) from error
            time.sleep(0.05)


def report_lines(container_id: str) -> list[str]:
    # docker logs returns the container's stdout and stderr separately, and
    # the REPORT lines are searched in both.
    result = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
    return [match.group(0).strip() for match in REPORT_PATTERN.finditer(result.stdout + result.stderr)]


def run_probe(base_image: str, warm_invocations: int) -> None:
    with tempfile.TemporaryDirectory(prefix="lambda-probe-") as build_dir:
        build_seconds = build_probe_image(base_image, Path(build_dir))
    print(f"built {PROBE_IMAGE} from {base_image} in {build_seconds:.1f} s")

    port = find_free_port()
    container_id = None
    try:
        container_id = run_docker("run", "-d", "-p", f"127.0.0.1:{port}:8080", PROBE_IMAGE, HANDLER).strip()
        started = time.monotonic()
        response, cold_ms = invoke_when_ready(port, container_id)
        first_response_ms = (time.monotonic() - started) * 1000
        expected = {"echo": PAYLOAD}
        if response != expected:
            raise ProbeError(f"cold invocation returned {response!r}, expected {expected!r}")
        print(f"cold invocation: {cold_ms:.1f} ms round trip, response {json.dumps(response)}")
        print(f"docker run to first response: {first_response_ms:.0f} ms")

        warm_times = []
        for _ in range(warm_invocations):
            response, warm_ms = invoke(port)
            if response != expected:
                raise ProbeError(f"warm invocation returned {response!r}, expected {expected!r}")
            warm_times.append(warm_ms)
        if warm_times:
            print(
                f"warm invocations ({len(warm_times)}): median {statistics.median(warm_times):.1f} ms, "
                f"min {min(warm_times):.1f} ms, max {max(warm_times):.1f} ms round trip"
            )

        reports = report_lines(container_id)
        init_reports = [float(m.group(1)) for line in reports if (m := INIT_REPORT_PATTERN.search(line))]
        init_durations = [float(m.group(1)) for line in reports if (m := INIT_DURATION_PATTERN.search(line))]
        if init_reports:
            print(f"RIE INIT REPORT: {init_reports[0]:.1f} ms")
        else:
            print("RIE INIT REPORT: not found in docker logs")
        if init_durations:
            print(f"RIE Init Duration (REPORT line): {init_durations[0]:.2f} ms")
        else:
            print("RIE Init Duration (REPORT line): not found in docker logs")
        for line in reports:
            print(f"  {line}")
    finally:
        if container_id:
            subprocess.run(["docker", "rm", "-f", container_id], capture_output=True)
        subprocess.run(["docker", "rmi", PROBE_IMAGE], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=DEFAULT_BASE_IMAGE, help=f"base image to test (default {DEFAULT_BASE_IMAGE})")
    parser.add_argument("--warm-invocations", type=int, default=10, help="number of invocations after the cold one (default 10)")
    args = parser.parse_args()
    try:
        run_probe(args.base_image, args.warm_invocations)
    except ProbeError as error:
        print(f"probe failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
