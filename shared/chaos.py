"""Fault injection for local runs: crash an invocation right after its writes.

Off unless `CHAOS_CRASH_RATE` is set (the local runtime sets it for
`CHAOS=crash`). Each message or request id is crashed at most once, so a
crashed step always succeeds on redelivery and the run still converges;
what is proven is that nothing is lost or doubled by the crash.
"""

from __future__ import annotations

import os
import random
import threading

_crashed: set[str] = set()
_lock = threading.Lock()


class InjectedCrash(RuntimeError):
    """Raised on purpose to simulate a function that dies after writing."""


def crash_after_write(invocation_id: str) -> None:
    """Raise InjectedCrash for a share of first-time ids when crash injection is on."""
    rate = float(os.environ.get("CHAOS_CRASH_RATE") or 0)
    if rate <= 0:
        return
    with _lock:
        if invocation_id in _crashed or random.random() >= rate:
            return
        _crashed.add(invocation_id)
    raise InjectedCrash(f"injected crash after the writes of {invocation_id}")
