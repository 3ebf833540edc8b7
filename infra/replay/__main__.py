"""`python -m infra.replay`: replay the Olist orders through the API and print the report.

The exit status is 0 on success, 1 after a server error or an unexpected final
state, and 2 when a setting, the dataset or the runtime stops the replay.
"""

from __future__ import annotations

import logging
import sys

from infra.replay import report
from infra.replay.client import TokenError
from infra.replay.dataset import DatasetError
from infra.replay.replay import ReplayError, run
from infra.replay.settings import ReplaySettings, SettingsError


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("tradewind.replay").setLevel(logging.INFO)
    try:
        document = run(ReplaySettings.from_environment())
    except (SettingsError, DatasetError, ReplayError, TokenError) as error:
        print(f"replay failed: {error}", file=sys.stderr)
        return 2
    print(report.format_table(document))
    return 0 if report.succeeded(document) else 1


if __name__ == "__main__":
    sys.exit(main())
