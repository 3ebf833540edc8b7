"""Settings of a benchmark run, read from the environment by `BenchSettings.from_environment`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.environment import read_number
from infra.replay.settings import DEFAULT_OLIST_DIR, ROOT, ReplaySettings, SettingsError, from_root

DEFAULT_REPORT = "reports/bench.json"
PRICES_FILE = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class BenchSettings:
    olist_dir: Path = ROOT / DEFAULT_OLIST_DIR
    report: Path = ROOT / DEFAULT_REPORT  # the chart is written beside it, as .png
    target: str | None = None  # URL of a running local runtime; None starts one in-process
    orders: int = 250  # orders sampled from the dataset; 250 keeps a run near 2.5 minutes on 2 cores
    concurrency: int = 16  # orders in flight at the same time
    seed: int = 1  # seed of the sample, so that every run places the same orders
    ceiling_calls: int = 400  # calls in each round of the emulator burst, for PutItem and for SendMessage
    prices: Path = PRICES_FILE
    progress: bool = True  # show tqdm progress bars on stderr

    def __post_init__(self) -> None:
        if self.orders < 1:
            raise SettingsError(f"BENCH_ORDERS must be at least 1, got {self.orders}")
        if self.concurrency < 1:
            raise SettingsError(f"BENCH_CONCURRENCY must be at least 1, got {self.concurrency}")
        if self.ceiling_calls < 1:
            raise SettingsError(f"BENCH_CEILING_CALLS must be at least 1, got {self.ceiling_calls}")

    @classmethod
    def from_environment(cls) -> BenchSettings:
        environment = os.environ
        return cls(
            olist_dir=from_root(environment.get("OLIST_DIR") or DEFAULT_OLIST_DIR),
            report=from_root(environment.get("BENCH_REPORT") or DEFAULT_REPORT),
            target=environment.get("TARGET") or None,
            orders=read_number(environment, "BENCH_ORDERS", int, 250, SettingsError),
            concurrency=read_number(environment, "BENCH_CONCURRENCY", int, 16, SettingsError),
            seed=read_number(environment, "BENCH_SEED", int, 1, SettingsError),
            ceiling_calls=read_number(environment, "BENCH_CEILING_CALLS", int, 400, SettingsError),
        )

    @property
    def chart(self) -> Path:
        return self.report.with_suffix(".png")

    def replay_settings(self) -> ReplaySettings:
        """Return the replay's settings for the same target, dataset and concurrency; raises SettingsError for a TARGET that is not local."""
        return ReplaySettings(olist_dir=self.olist_dir, report=self.report, target=self.target, concurrency=self.concurrency, progress=self.progress)

    def as_report(self) -> dict:
        document = asdict(self)
        for name in ("olist_dir", "report", "prices"):
            document[name] = str(document[name])
        document["chart"] = str(self.chart)
        return document
