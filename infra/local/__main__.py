"""`python -m infra.local`: run Tradewind locally until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys

from infra.local.runtime import LocalRuntime, Settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout)
    # moto's per-request access log and botocore's credential notes would bury the invocation lines.
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    runtime = LocalRuntime(Settings.from_environment())
    signal.signal(signal.SIGTERM, lambda *_: runtime.request_stop())
    try:
        runtime.start()
        runtime.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
