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
