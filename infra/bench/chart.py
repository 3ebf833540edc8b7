"""Draw the load's latency and throughput over time as a PNG (matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from infra.replay.report import percentiles

# Latency lines are percentiles over windows of this many seconds, or a
# twentieth of the load when that is longer, so that each window has orders.
MIN_WINDOW_SECONDS = 5.0
WINDOWS = 20


@dataclass(frozen=True)
class OrderTiming:
    started_s: float  # seconds from the start of the load to POST /orders
    finished_s: float  # seconds from the start of the load to the order's last read
    place_order_ms: float | None
    to_delivered_ms: float | None
    completed: bool  # reached the state its data leads to, or a final state, before the deadline


def write_chart(timings: list[OrderTiming], path: Path, title: str) -> None:
    """Write three panels sharing the time axis: place-order latency, order-to-delivered latency, and checkouts completed per window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    duration = max((timing.finished_s for timing in timings), default=0.0)
    window = max(MIN_WINDOW_SECONDS, duration / WINDOWS)
    figure, (place, delivered, throughput) = plt.subplots(3, 1, sharex=True, figsize=(10, 9), constrained_layout=True)
    figure.suptitle(title)

    placed = [(timing.started_s, timing.place_order_ms) for timing in timings if timing.place_order_ms is not None]
    _latency_panel(place, placed, window, "place order (ms)")
    place.set_title("latency, at the time each order was placed", loc="left", fontsize="small")
    reached = [(timing.started_s, timing.to_delivered_ms / 1000) for timing in timings if timing.to_delivered_ms is not None]
    _latency_panel(delivered, reached, window, "order to delivered (s)")

    finished = [timing.finished_s for timing in timings if timing.completed]
    edges = [index * window for index in range(math.ceil(duration / window) + 1)] if finished else [0.0, window]
    throughput.hist(finished, bins=edges, color="tab:green", alpha=0.7, edgecolor="white")
    throughput.set_title("throughput, at the time each checkout completed", loc="left", fontsize="small")
    throughput.set_ylabel(f"checkouts completed\nper {window:.0f} s")
    throughput.yaxis.set_major_locator(MaxNLocator(integer=True))
    throughput.set_xlabel("seconds since the first order")
    throughput.grid(alpha=0.3)

    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _latency_panel(axes, points: list[tuple[float, float]], window: float, label: str) -> None:
    """Plot each order as a dot at the time it was placed, with p50 and p95 lines over windows of `window` seconds."""
    axes.scatter([x for x, _ in points], [y for _, y in points], s=8, alpha=0.35, color="tab:blue", label="one order")
    centers, p50s, p95s = _window_percentiles(points, window)
    axes.plot(centers, p50s, color="tab:orange", marker="o", markersize=3, label="p50")
    axes.plot(centers, p95s, color="tab:red", marker="o", markersize=3, label="p95")
    axes.set_ylabel(label)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")


def _window_percentiles(points: list[tuple[float, float]], window: float) -> tuple[list[float], list[float], list[float]]:
    by_window: dict[int, list[float]] = {}
    for x, y in points:
        by_window.setdefault(int(x // window), []).append(y)
    centers, p50s, p95s = [], [], []
    for index in sorted(by_window):
        window_percentiles = percentiles(by_window[index])
        centers.append((index + 0.5) * window)
        p50s.append(window_percentiles["p50"])
        p95s.append(window_percentiles["p95"])
    return centers, p50s, p95s
