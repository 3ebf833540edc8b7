"""`python -m infra.bench`: run the checkout benchmark and print its table.

The exit status is 0 on success, 1 after a server error, a timeout or an
unexpected final state, and 2 when a setting, the dataset, the price file or
the runtime stops the benchmark.
"""

from __future__ import annotations

import logging
import sys

from infra.bench import report
from infra.bench.bench import BenchError, run
from infra.bench.costs import PriceError
from infra.bench.settings import BenchSettings
from infra.bench.usage import UsageError
from infra.replay.client import TokenError
from infra.replay.dataset import DatasetError
from infra.replay.settings import SettingsError


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("tradewind.bench").setLevel(logging.INFO)
    try:
        document = run(BenchSettings.from_environment())
    except (SettingsError, DatasetError, BenchError, PriceError, UsageError, TokenError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 2
    print(report.format_table(document))
    return 0 if report.succeeded(document) else 1


if __name__ == "__main__":
    sys.exit(main())
