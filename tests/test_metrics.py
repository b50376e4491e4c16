"""Statistics over chips: bootstrap intervals, summaries, paired comparisons, the sign test."""

import numpy as np

from berth.flows.metrics import bootstrap_ci, paired, sign_test, summarize


def test_bootstrap_is_seeded_and_brackets_the_mean():
    x = np.random.default_rng(1).normal(0.3, 0.05, 50)
    a, b = bootstrap_ci(x, seed=3), bootstrap_ci(x, seed=3)
    assert a == b
    assert a[0] < x.mean() < a[1]
    assert a != bootstrap_ci(x, seed=4)
    # about 2 standard errors either side
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert abs((a[1] - a[0]) / (2 * 1.96 * se) - 1) < 0.15


def test_summary_names_the_worst_chip():
    s = summarize(np.array([0.1, 0.4, 0.2]), np.array([7, 8, 9]))
    assert (s.n, s.worst, s.worst_chip) == (3, 0.4, 8)
    assert np.isclose(s.mean, 0.7 / 3) and np.isclose(s.std, np.std([0.1, 0.4, 0.2], ddof=1))


def test_single_chip_has_a_degenerate_interval():
    s = summarize(np.array([0.25]))
    assert s.ci_low == s.ci_high == 0.25 and s.std == 0.0


def test_paired_uses_common_chips_only():
    a = {0: 0.1, 1: 0.2, 2: 0.1, 3: 0.5}
    b = {0: 0.2, 1: 0.3, 2: 0.1, 4: 0.9}
    c = paired(a, b)
    assert (c.n, c.a_better, c.b_better, c.ties) == (3, 2, 0, 1)
    assert np.isclose(c.mean_diff, -0.2 / 3)
    assert c.ci_high <= 0


def test_sign_test():
    assert sign_test(0, 0) == 1.0
    assert np.isclose(sign_test(10, 0), 2 / 2**10)
    assert np.isclose(sign_test(3, 3), 1.0)


def test_scipy_statistics_agree_with_their_closed_forms():
    """The bootstrap interval of a large sample is the normal one; the sign test is the two-sided
    binomial tail written out."""
    from math import comb

    x = np.random.default_rng(7).normal(0.2, 0.03, 4000)
    lo, hi = bootstrap_ci(x, seed=0)
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(lo - (x.mean() - 1.96 * se)) < 0.1 * se and abs(hi - (x.mean() + 1.96 * se)) < 0.1 * se
    for wins, losses in ((3, 9), (0, 7), (5, 5), (11, 2)):
        n, k = wins + losses, min(wins, losses)
        tail = sum(comb(n, i) for i in range(k + 1)) / 2.0**n
        assert np.isclose(sign_test(wins, losses), min(1.0, 2 * tail))
