"""The sampler under the bit-error models: ladder arithmetic, exact Poisson counts, thread independence."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy import stats

from berth.quant import kernels, sampling
from berth.quant.faults import RandomBitErrors

from conftest import one_numba_thread
from test_bit_errors import flipped_bits, within_4_sigma


@numba.njit
def _poissons(n, seed, constants):
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = kernels.poisson(kernels.draw(np.uint64(seed), i), constants.reshape(1, 1, -1), 0, 0)
    return out


@pytest.mark.parametrize("mean", [0.25, 3.0, 9.99, 10.0, 37.5, 856.4, 140_000.0])
def test_poisson_counts_follow_the_poisson_law(mean):
    """Counts of 200k streams: chi-square against the Poisson pmf, both samplers (Knuth / PTRS)."""
    x = _poissons(200_000, 777, kernels.poisson_constants(mean))
    lo, hi = stats.poisson.ppf([1e-4, 1 - 1e-4], mean)
    edges = np.unique(np.r_[-0.5, np.arange(lo, hi + 1) + 0.5, np.inf])
    if edges.size > 60:  # pool into ~50 equiprobable bins for large means
        edges = np.unique(np.r_[-0.5, np.floor(stats.poisson.ppf(np.linspace(0, 1, 51)[1:-1], mean)) + 0.5, np.inf])
    observed = np.histogram(x, bins=edges)[0]
    expected = np.diff(stats.poisson.cdf(edges, mean)) * x.size
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, edges.size - 2) > 1e-4, f"chi-square {chi2:.1f} on {edges.size - 2} dof"


@pytest.mark.parametrize("p", [1e-9, 2.0**-20, 3e-6, 1e-4, 0.0078125, 0.01, 0.3, 0.5, 0.7, 0.99, 1.0])
def test_ladder_thinning_gives_exactly_p(p):
    """Levels above k(p) whole plus level k(p) thinned at t(p): a position is included with probability p."""
    k, t = sampling.level_of(p), sampling.thin_threshold(p)
    assert 0.0 <= t <= 1.0
    below = 0.0 if k == sampling.TAIL else sampling.level_p(k + 1)
    assert below < p <= sampling.level_p(k)
    if k == 0:  # one point per position, thinned by a uniform mark
        kept = 1.0 - (1.0 - below) * (1.0 - t)
    else:  # a Poisson level thinned at t has intensity lambda_k * t
        kept = 1.0 - (1.0 - below) * math.exp(-sampling.level_rate(k) * t)
    assert kept == pytest.approx(p, rel=1e-12)
    level, thr = sampling.mark_thresholds(p)
    assert level == k and abs(int(thr[k]) / 2.0**kernels.MARK_BITS - t) <= 2.0**-kernels.MARK_BITS
    assert not thr[:k].any() and (thr[k + 1:] == 2**kernels.MARK_BITS).all()


def test_levels_add_up_to_the_union_intensity():
    """The intensities of levels >= k sum to -log(1 - p_k): the ladder is one Poisson process."""
    for k in range(1, sampling.TAIL + 1):
        union = sum(sampling.level_rate(j) for j in range(k, sampling.TAIL + 1))
        assert union == pytest.approx(-math.log1p(-sampling.level_p(k)), rel=1e-12)
    assert math.isinf(sampling.level_rate(0))


def test_short_tensors_flip_at_rate_p():
    """A tensor smaller than a block uses a smaller virtual block: the rate is still p."""
    words = np.zeros(1000, dtype=np.uint8)
    flips = sum(int(np.unpackbits(sampling.flip_bits(words, 8, 255, "t", chip, "w", 0.01, 0.01)).sum())
                for chip in range(200))
    assert within_4_sigma(flips, 200 * 8000, 0.01)




def test_same_chip_whatever_the_thread_count(qtensor_factory):
    """Blocks are independent streams: one thread and all threads flip the same bits."""
    qt = qtensor_factory(3 * 2**sampling.BLOCK_BITS + 12_345, 8, True)
    with one_numba_thread():
        one = RandomBitErrors(0.003, chip=4).perturb({"w": qt})["w"]
    many = RandomBitErrors(0.003, chip=4).perturb({"w": qt})["w"]
    assert np.array_equal(one.codes, many.codes)
    bits = qt.codes.size * 8
    assert within_4_sigma(int(flipped_bits(qt, many).sum()), bits, 0.003)


def test_first_parallel_call_keeps_torch_threads():
    """Starting numba's OpenMP pool must not change torch's thread count (they share libgomp)."""
    code = ("import numpy as np, torch; from quant import sampling; "
            "sampling.flip_bits(np.zeros(3 << 18, np.uint8), 8, 255, 's', 1, 't', 0.01, 0.01); "
            "print(torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], check=True)
    assert done.stdout.strip() == "1"
