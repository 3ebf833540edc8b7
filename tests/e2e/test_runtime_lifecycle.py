"""The local runtime starts, serves and stops cleanly on Ctrl-C."""

import signal

from tests.e2e.conftest import start_runtime


def test_interrupt_stops_runtime_cleanly(tmp_path):
    running = start_runtime(tmp_path / "runtime.log")

    running.process.send_signal(signal.SIGINT)
    exit_code = running.process.wait(timeout=30)

    assert exit_code == 0
    assert "Tradewind API listening on" in running.log()
    assert running.log().rstrip().endswith("stopped")
