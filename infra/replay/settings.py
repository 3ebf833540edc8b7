"""Settings of a replay, read from the environment by `ReplaySettings.from_environment`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from infra.environment import read_number

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_OLIST_DIR = "../shared/data/olist"
DEFAULT_REPORT = "reports/replay.json"

# The replay reads /_runtime/idle and /_runtime/stats, which only the local
# runtime serves, so a deployed API cannot be a target.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class SettingsError(ValueError):
    """A setting that is missing or invalid."""


@dataclass(frozen=True)
class ReplaySettings:
    olist_dir: Path = ROOT / DEFAULT_OLIST_DIR
    report: Path = ROOT / DEFAULT_REPORT
    target: str | None = None  # URL of a running local runtime; None starts one in-process
    concurrency: int = 8  # orders replayed at the same time
    stock_factor: float = 1.0  # stock of each product = ceil(its demand in the replayed orders x this factor)
    speedup: float = 10_000_000.0  # real gaps between order events are divided by this
    limit: int | None = None  # replay only the first N orders by purchase time
    max_event_wait: float = 5.0  # seconds, the cap on any single wait between events
    order_timeout: float = 180.0  # seconds from placing an order until it must reach its final state
    poll_interval: float = 0.1  # seconds before the second read of an order; doubles up to max_poll_interval
    # seconds; each read is a function invocation and a DynamoDB read on the runtime under test,
    # so a long wait keeps the replay from measuring mostly its own polling
    max_poll_interval: float = 1.6
    idle_timeout: float = 600.0  # seconds to wait for the runtime's queues to drain; an upper bound, the wait ends when they are
    progress: bool = True  # show tqdm progress bars on stderr

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise SettingsError(f"CONCURRENCY must be at least 1, got {self.concurrency}")
        if self.stock_factor < 0:
            raise SettingsError(f"STOCK_FACTOR must not be negative, got {self.stock_factor}")
        if self.speedup <= 0:
            raise SettingsError(f"SPEEDUP must be positive, got {self.speedup}")
        if self.limit is not None and self.limit < 1:
            raise SettingsError(f"LIMIT must be at least 1, got {self.limit}")
        if self.target is not None and urlparse(self.target).hostname not in LOCAL_HOSTS:
            raise SettingsError(f"TARGET {self.target!r} is not a local runtime: use http://127.0.0.1:PORT of a running `make run`")

    @classmethod
    def from_environment(cls) -> ReplaySettings:
        environment = os.environ
        limit = environment.get("LIMIT")
        return cls(
            olist_dir=from_root(environment.get("OLIST_DIR") or DEFAULT_OLIST_DIR),
            report=from_root(environment.get("REPORT") or DEFAULT_REPORT),
            target=environment.get("TARGET") or None,
            concurrency=read_number(environment, "CONCURRENCY", int, 8, SettingsError),
            stock_factor=read_number(environment, "STOCK_FACTOR", float, 1.0, SettingsError),
            speedup=read_number(environment, "SPEEDUP", float, 10_000_000.0, SettingsError),
            limit=read_number(environment, "LIMIT", int, 0, SettingsError) if limit else None,
        )

    def as_report(self) -> dict:
        document = asdict(self)
        document["olist_dir"] = str(self.olist_dir)
        document["report"] = str(self.report)
        return document


def from_root(value: str) -> Path:
    """Resolve a relative path against the repository root, so the result does not depend on the working directory."""
    path = Path(value).expanduser()
    return (path if path.is_absolute() else ROOT / path).resolve()
