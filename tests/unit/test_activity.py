"""The runtime's count of running batches, which the idle check reads."""

from __future__ import annotations

import time

from infra.local.pollers import Activity


def test_busy_block_counts_while_running():
    activity = Activity()

    with activity.busy():
        running = activity.in_flight

    assert running == 1
    assert activity.in_flight == 0


def test_finished_batch_records_its_end():
    activity = Activity()
    before = time.monotonic()

    with activity.busy():
        pass

    assert activity.last_finished >= before
