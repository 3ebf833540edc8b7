"""Run a replay: import the catalogue, replay the orders, and write the report."""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from infra.replay import dataset, report
from infra.replay.client import ApiClient
from infra.replay.dataset import Dataset, Product
from infra.replay.orders import OrderOutcome, OrderReplayer
from infra.replay.settings import ReplaySettings

log = logging.getLogger("tradewind.replay")

# Loggers that would write a line per request and break up the progress bar,
# with the level each gets during a replay.
QUIET_LEVELS = {
    "werkzeug": logging.ERROR,
    "botocore": logging.ERROR,
    "urllib3": logging.ERROR,
    "tradewind.runtime": logging.WARNING,
}


class _ErrorCounter(logging.Handler):
    """Count error records instead of printing them.

    moto's server logs each request it fails with 500 through werkzeug, with
    a traceback. The function that made the call retries or fails, so the
    replay only counts these and reports the number.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.first_message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first_message is None:
            # werkzeug puts the formatted traceback in the message; its last line names the exception.
            lines = record.getMessage().strip().splitlines()
            self.first_message = lines[-1] if lines else ""


class ReplayError(Exception):
    """The replay could not go on: the runtime did not drain its queues in time."""


def run(settings: ReplaySettings) -> dict:
    """Replay the dataset against `settings.target`, or a runtime started here, and write the report.

    Returns the report. Raises DatasetError for a missing dataset and
    ReplayError when the runtime stays busy after the catalogue import.
    """
    data = dataset.load(settings.olist_dir, settings.limit, settings.stock_factor)
    with quiet_logs() as emulator_errors, serve(settings) as base_url:
        api = connect(base_url)
        log.info("importing %d products into %s", len(data.products), base_url)
        catalogue = import_catalogue(api, data.products, settings)
        # The orders domain learns prices from a queue; an order placed before
        # that would be rejected as naming an unknown SKU.
        if not wait_until_idle(api, settings):
            raise ReplayError(f"the runtime at {base_url} still had queued messages {settings.idle_timeout} s after the catalogue import")

        log.info("replaying %d orders with %d workers", len(data.orders), settings.concurrency)
        before = read_stats(api)
        started = time.monotonic()
        outcomes = replay_orders(api, data, settings)
        duration = time.monotonic() - started
        # Release and retry messages may still be queued; they belong to this phase.
        idle_after = wait_until_idle(api, settings)
        after = read_stats(api)
        # The runtime started here stops with the replay, so its tables are audited now.
        audit = None if settings.target else run_audit(after["endpointUrl"], settings.report.with_name(settings.report.stem + "-audit.json"))

    document = _report(settings, base_url, data, catalogue, outcomes, api, before, after, duration, idle_after)
    document["audit"] = audit
    # Only a runtime started here logs into this process; a TARGET's moto errors stay in its own log.
    document["emulator_errors"] = None if settings.target else {"count": emulator_errors.count, "first": emulator_errors.first_message}
    report.write(document, settings.report)
    return document


def connect(base_url: str) -> ApiClient:
    """Return the API client for the runtime at `base_url`, as the replay and the benchmark use it."""
    return ApiClient(base_url)


def run_audit(endpoint_url: str, report_path: Path) -> dict:
    """Run `make audit`'s checks on the replay's own runtime; returns the violation counts and the report's path."""
    from infra.ops import audit

    report_path.parent.mkdir(parents=True, exist_ok=True)
    exit_code = audit.main(["--endpoint-url", endpoint_url, "--report", str(report_path)])
    audited = json.loads(report_path.read_text())
    return {"exit_code": exit_code, "violations_by_code": audited["violationsByCode"], "money": audited["money"], "report": str(report_path)}


def import_catalogue(api: ApiClient, products: list[Product], settings: ReplaySettings) -> dict:
    started = time.monotonic()
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="import") as pool:
        futures = [pool.submit(_put_product, api, product) for product in products]
        statuses = [future.result() for future in tqdm(as_completed(futures), total=len(futures), desc="products", unit="product", disable=not settings.progress)]
    imported = sum(status in (200, 201) for status in statuses)
    return {"products": len(products), "imported": imported, "duration_seconds": round(time.monotonic() - started, 1)}


def _put_product(api: ApiClient, product: Product) -> int:
    body = {
        "name": product.name,
        "category": product.category,
        "price": {"amount": product.price_centavos, "currency": "BRL"},
        "stock": product.stock,
    }
    return api.request("PUT", f"/products/{product.sku}", body, token=api.admin_token()).status_code


def replay_orders(api: ApiClient, data: Dataset, settings: ReplaySettings) -> list[OrderOutcome]:
    """Replay the orders with `settings.concurrency` workers; returns their outcomes in purchase-time order."""
    replayer = OrderReplayer(api, settings)
    pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="order")
    # The pool takes work in submission order, so orders start in purchase-time order.
    futures: list[Future[OrderOutcome]] = [pool.submit(replayer.replay, order) for order in data.orders]
    try:
        with tqdm(total=len(futures), desc="orders", unit="order", disable=not settings.progress) as bar:
            for future in as_completed(futures):
                future.result()
                bar.update()
                bar.set_postfix(server_errors=api.server_errors, refresh=False)
    finally:
        # On Ctrl-C, orders not yet started are dropped instead of waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    return [future.result() for future in futures]


def wait_until_idle(api: ApiClient, settings: ReplaySettings) -> bool:
    """Return whether the runtime drained every queue within `settings.idle_timeout`."""
    response = api.runtime(f"/_runtime/idle?timeout={settings.idle_timeout:g}", timeout=settings.idle_timeout + 30)
    return response.status_code == 200


def read_stats(api: ApiClient) -> dict:
    """Return the runtime's `/_runtime/stats`: invocations, AWS calls and their units, queue depths."""
    response = api.runtime("/_runtime/stats", timeout=30)
    response.raise_for_status()
    return response.json()


@contextmanager
def serve(settings: ReplaySettings) -> Iterator[str]:
    """Yield the base URL of the target, starting a local runtime on free ports when no target is set."""
    if settings.target:
        yield settings.target
        return
    # Imported here because it loads boto3 and moto, which a replay against a running target does not need.
    import dataclasses

    from infra.local.runtime import LocalRuntime, Settings

    # The runtime's own settings (CHAOS, VISIBILITY_TIMEOUT, ...) come from the
    # environment as for `make run`; ports are free ones, so a running `make run` is not disturbed.
    settings = Settings.from_environment()
    if settings.visibility_timeout is None:
        # The template's 60 s suits AWS; a replay would spend most of its time
        # waiting for retried messages, so it retries after a few seconds.
        settings = dataclasses.replace(settings, visibility_timeout=REPLAY_VISIBILITY_TIMEOUT)
    if "SPLIT_EMULATOR" not in os.environ:
        # moto is the replay's bottleneck; two processes give it two cores.
        settings = dataclasses.replace(settings, split_emulator=True)
    runtime = LocalRuntime(dataclasses.replace(settings, port=0, moto_port=0, endpoint_url=None))
    try:
        runtime.start()
        yield runtime.url
    finally:
        runtime.stop()


REPLAY_VISIBILITY_TIMEOUT = 3


@contextmanager
def quiet_logs() -> Iterator[_ErrorCounter]:
    """Lower the noisy loggers for the duration, and count moto's failed requests instead of printing them."""
    previous = {name: logging.getLogger(name).level for name in QUIET_LEVELS}
    for name, level in QUIET_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    werkzeug = logging.getLogger("werkzeug")
    counter = _ErrorCounter()
    propagate = werkzeug.propagate
    werkzeug.addHandler(counter)
    werkzeug.propagate = False
    try:
        yield counter
    finally:
        werkzeug.removeHandler(counter)
        werkzeug.propagate = propagate
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def _report(
    settings: ReplaySettings,
    base_url: str,
    data: Dataset,
    catalogue: dict,
    outcomes: list[OrderOutcome],
    api: ApiClient,
    before: dict,
    after: dict,
    duration: float,
    idle_after: bool,
) -> dict:
    summary = report.summarize_outcomes(outcomes)
    usage = report.stats_delta(before, after, len(outcomes))
    reads = sum(outcome.reads for outcome in outcomes)
    return {
        "target": settings.target or f"{base_url} (in-process runtime)",
        "catalogue": catalogue,
        "orders": summary["orders"],
        "server_errors": api.server_errors,
        "client_errors": dict(api.client_errors.most_common()),
        "error_samples": api.error_samples,
        "by_status": summary["by_status"],
        "expected": summary["expected"],
        "set_aside": summary["set_aside"],
        "skipped_without_lines": data.skipped_without_lines,
        "timeouts": summary["timeouts"],
        "latency_ms": summary["latency_ms"],
        # The replay's own GET /orders polls are among these calls and invocations.
        "aws_calls_per_order": usage["aws_calls_per_order"],
        "order_reads_per_order": round(reads / len(outcomes), 2) if outcomes else None,
        "invocations": usage["invocations"],
        "function_errors": usage["function_errors"],
        "idle_after_replay": idle_after,
        "duration_seconds": round(duration, 1),
        "orders_per_second": round(len(outcomes) / duration, 2) if duration > 0 else None,
        "settings": settings.as_report(),
    }
