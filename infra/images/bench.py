"""Measure each function image: size over the base, cold start and warm invocation time (`python -m infra.images.bench`).

- size: `docker image inspect` size of the image minus that of its base image;
- cold start: the RIE's INIT REPORT durationMs (importing the handler module)
  of a fresh container, the median of COLD_STARTS containers;
- warm: the round trip of one invocation to a warm container through the
  RIE, the median of WARM_INVOCATIONS after one unmeasured call.

The warm event does no harm: an HTTP function gets a GET of an unknown id
(404), a queue function an empty batch `{"Records": []}`. Functions reach moto,
started in this process, through the same relay as in container mode.
Results are printed as a table and written to reports/bench-images.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from infra.images.build import AWS_BASE_IMAGE, OFFLINE_BASE_IMAGE, image_exists, image_tag
from infra.local.containers import ContainerFunction
from infra.local.invoker import FunctionError
from infra.local.template import Function, load

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "bench-images.json"
COLD_STARTS = 3
WARM_INVOCATIONS = 20
REGION = "us-east-1"


def image_size(image: str) -> int:
    result = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=True)
    return int(result.stdout.strip())


def harmless_event(function: Function) -> dict:
    """Return an event that changes nothing: a GET of an unknown id for an HTTP function,
    a scheduled event for a scheduled one (expiry finds no overdue order), an empty batch otherwise."""
    from tests.events import api_event, scheduled_event

    if function.schedules:
        return scheduled_event()
    if function.routes:
        route = next((route for route in function.routes if route.method == "GET"), function.routes[0])
        path = "/" + "/".join("bench-unknown-id" if segment.startswith("{") else segment for segment in route.path.strip("/").split("/"))
        return api_event(route.method, route.path, path, body={} if route.method != "GET" else None)
    return {"Records": []}


def invoke_timed(function: ContainerFunction, event: dict) -> tuple[float, str]:
    """Invoke once and return the round trip in ms and the outcome (HTTP status, ok, or the error type)."""
    started = time.perf_counter()
    try:
        result = function.invoke(event).result
        outcome = str(result.get("statusCode", "ok")) if isinstance(result, dict) else "ok"
    except FunctionError as error:
        outcome = f"error:{type(error.error).__name__}"
    return (time.perf_counter() - started) * 1000, outcome


def measure(function: Function, environment: dict[str, str], endpoint_url: str, base_size: int) -> dict:
    event = harmless_event(function)

    cold = []
    for _ in range(COLD_STARTS):
        pool = ContainerFunction(function, environment, REGION, concurrency=1, endpoint_url=endpoint_url)
        try:
            invoke_timed(pool, event)
            cold.extend(pool.init_durations_ms)
        finally:
            pool.stop()

    pool = ContainerFunction(function, environment, REGION, concurrency=1, endpoint_url=endpoint_url)
    try:
        invoke_timed(pool, event)
        timings = [invoke_timed(pool, event) for _ in range(WARM_INVOCATIONS)]
    finally:
        pool.stop()

    size = image_size(image_tag(function.name))
    return {
        "function": function.name,
        "image": image_tag(function.name),
        "sizeBytes": size,
        "sizeOverBaseBytes": size - base_size,
        "coldStartInitMs": cold,
        "coldStartInitMedianMs": round(statistics.median(cold), 1) if cold else None,
        "warmMs": [round(ms, 2) for ms, _ in timings],
        "warmMedianMs": round(statistics.median(ms for ms, _ in timings), 2),
        "warmOutcome": sorted({outcome for _, outcome in timings}),
    }


def print_table(results: list[dict], base_image: str) -> None:
    print(f"base image: {base_image}; cold = median INIT REPORT of {COLD_STARTS} fresh containers; warm = median of {WARM_INVOCATIONS} round trips")
    print(f"| {'function':<28} | {'over base (MB)':>14} | {'cold start (ms)':>15} | {'warm (ms)':>9} | warm outcome |")
    print(f"| {'-' * 28} | {'-' * 14}:| {'-' * 15}:| {'-' * 9}:| --- |")
    for result in results:
        cold = f"{result['coldStartInitMedianMs']:.1f}" if result["coldStartInitMedianMs"] is not None else "n/a"
        print(
            f"| {result['function']:<28} | {result['sizeOverBaseBytes'] / 1e6:>14.1f} | {cold:>15} | {result['warmMedianMs']:>9.1f} | {', '.join(result['warmOutcome'])} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure the function images: size over the base, cold start, warm invocation time.")
    parser.add_argument("functions", nargs="*", help="logical ids to measure (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    # moto's access log would bury the table.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # Dummy credentials for the provisioning client; moto accepts any.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = REGION

    import boto3

    from infra.local import guard
    from infra.local.emulator import MotoServer
    from infra.local.provision import provision

    requested = os.environ.get("BASE_IMAGE") or AWS_BASE_IMAGE
    base_image = requested if image_exists(requested) else OFFLINE_BASE_IMAGE
    template = load(ROOT / "template.yaml")
    functions = [function for name, function in template.functions.items() if not args.functions or name in args.functions]
    missing = [image_tag(function.name) for function in functions if not image_exists(image_tag(function.name))]
    if missing:
        print(f"images not found: {', '.join(missing)}; build them with `make images`", file=sys.stderr)
        return 1

    guard.install()
    moto = MotoServer()
    moto.start()
    try:
        session = boto3.session.Session()
        dynamodb = session.client("dynamodb", endpoint_url=moto.url)
        sqs = session.client("sqs", endpoint_url=moto.url)
        deployment = provision(template, dynamodb, sqs, f"bench{uuid.uuid4().hex[:6]}")
        base_size = image_size(base_image)
        results = []
        for function in functions:
            environment = {key: str(deployment.resolve(value)) for key, value in function.environment.items()}
            print(f"measuring {function.name}", file=sys.stderr)
            results.append(measure(function, environment, moto.url, base_size))
    finally:
        moto.stop()

    print_table(results, base_image)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "baseImage": base_image,
        "baseImageSizeBytes": base_size,
        "coldStarts": COLD_STARTS,
        "warmInvocations": WARM_INVOCATIONS,
        "functions": results,
    }
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
