"""Robust summaries of per-iteration latencies: median, quartiles, IQR, p90.

Latency distributions are skewed (interrupts, other processes, clock changes), so the median and
the interquartile range describe them; the mean is kept only for reference. ``rel_iqr`` (IQR /
median) is the stability figure the acceptance criterion uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from berth.core.errors import BerthError


@dataclass(frozen=True)
class LatencyStats:
    """Summary of ``n`` samples in milliseconds."""

    n: int
    median: float
    q1: float
    q3: float
    p90: float
    mean: float
    minimum: float
    maximum: float

    @property
    def iqr(self) -> float:
        """Interquartile range q3 - q1 (ms)."""
        return self.q3 - self.q1

    @property
    def rel_iqr(self) -> float:
        """IQR / median: 0.05 means the middle half of the samples lies within 5% of the median."""
        return self.iqr / self.median if self.median > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "iqr": self.iqr, "rel_iqr": self.rel_iqr}


def summarize(samples_ms: Sequence[float]) -> LatencyStats:
    """Median, quartiles (linear interpolation), p90, mean, min and max of ``samples_ms``."""
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.size == 0:
        raise BerthError("no latency samples to summarize; allowed: at least 1 sample")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise BerthError(f"latency samples must be finite and >= 0; got {x[~np.isfinite(x) | (x < 0)][0]!r}")
    q1, med, q3, p90 = np.percentile(x, [25, 50, 75, 90])
    return LatencyStats(int(x.size), float(med), float(q1), float(q3), float(p90), float(x.mean()),
                        float(x.min()), float(x.max()))
