"""Wall-clock helpers shared by the benchmark scripts (run them as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def wall_times(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall time of each of ``repeats`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs (seconds)."""
    return statistics.median(wall_times(fn, repeats))


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """Fastest wall time of ``fn`` over ``repeats`` runs (seconds): the least disturbed by other load."""
    return min(wall_times(fn, repeats))


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int,
                        before: Callable[[], object] | None = None) -> dict[str, float]:
    """Median wall time (seconds) of each of ``fns``, run in turn ``repeats`` times.

    Interleaving puts every candidate and its baseline under the same drift of a noisy machine,
    so their ratio is steadier than that of back-to-back blocks of runs. ``before`` (untimed)
    runs before every timed call, so each starts from the same state (e.g. after a forward pass).
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if before is not None:
                before()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
