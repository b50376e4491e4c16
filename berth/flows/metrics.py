"""Statistics over chips: summaries with seeded bootstrap intervals, and paired comparisons.

Chips are the unit of variation in a robustness sweep (the paper's protocol: the same persistent
chips for every model), so intervals resample chips, and two methods are compared chip by chip.
The statistics are scipy.stats' own (percentile bootstrap, exact binomial test); every random
draw takes a seed, so a report is reproducible to the last digit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 10_000


def bootstrap_ci(values: np.ndarray, seed: int = 0, level: float = 0.95,
                 samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (``scipy.stats.bootstrap``, seeded)."""
    from scipy.stats import bootstrap

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2 or np.all(values == values[0]):
        mean = float(values.mean()) if values.size else float("nan")
        return mean, mean
    res = bootstrap((values,), np.mean, n_resamples=samples, confidence_level=level, method="percentile",
                    vectorized=True, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class Summary:
    """RErr over chips: mean, sample std, 95% bootstrap interval of the mean, worst chip."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    worst: float
    worst_chip: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(rerr: np.ndarray, chips: np.ndarray | None = None, seed: int = 0) -> Summary:
    """Summary of per-chip RErr values (``chips`` names them, for the worst one)."""
    rerr = np.asarray(rerr, dtype=np.float64)
    chips = np.arange(rerr.size) if chips is None else np.asarray(chips)
    lo, hi = bootstrap_ci(rerr, seed)
    worst = int(np.argmax(rerr))
    std = float(rerr.std(ddof=1)) if rerr.size > 1 else 0.0
    return Summary(int(rerr.size), float(rerr.mean()), std, lo, hi, float(rerr[worst]), int(chips[worst]))


@dataclass(frozen=True)
class Paired:
    """Chip-by-chip comparison of method A against B (difference = A - B, in RErr)."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    a_better: int
    b_better: int
    ties: int
    sign_p: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def paired(a: dict[int, float], b: dict[int, float], seed: int = 0) -> Paired:
    """Compare per-chip RErr ``{chip: rerr}`` of A and B on the chips both were evaluated on.

    Gives the mean difference with a bootstrap interval over chips, how often each wins, and a
    two-sided exact sign test p-value (ties dropped): is A better than B on the same chips?
    """
    common = sorted(set(a) & set(b))
    diff = np.array([a[c] - b[c] for c in common], dtype=np.float64)
    if diff.size == 0:
        nan = float("nan")
        return Paired(0, nan, nan, nan, 0, 0, 0, nan)
    lo, hi = bootstrap_ci(diff, seed)
    a_better, b_better = int((diff < 0).sum()), int((diff > 0).sum())
    return Paired(int(diff.size), float(diff.mean()), lo, hi, a_better, b_better,
                  int(diff.size - a_better - b_better), sign_test(a_better, b_better))


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign-test p-value for ``wins`` vs ``losses`` (fair coin;
    ``scipy.stats.binomtest``)."""
    from scipy.stats import binomtest

    n = wins + losses
    return 1.0 if n == 0 else float(binomtest(wins, n, 0.5).pvalue)
