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
    try:
        runtime = LocalRuntime(Settings.from_environment())
    except ValueError as error:
        # A malformed setting (PORT=abc, CHAOS=typo, INVOKE=...) is the user's to fix, not a crash.
        logging.getLogger("tradewind.runtime").error("invalid setting: %s", error)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: runtime.request_stop())
    try:
        runtime.start()
        runtime.wait()
    except KeyboardInterrupt:
        pass
    except OSError as error:
        logging.getLogger("tradewind.runtime").error("could not start: %s; is another `make run` using PORT or MOTO_PORT? Set them to free ports", error)
        return 1
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
