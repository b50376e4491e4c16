"""The sampler under the bit-error models: ladder arithmetic, exact exponentials, thread independence."""

import math

import numba
import numpy as np
import pytest

from quant import kernels, sampling
from quant.errors import RandomBitErrors
from test_bit_errors import flipped_bits, within_4_sigma


@numba.njit
def _exponentials(n, seed, k, w, f):
    out = np.empty(n)
    for j in range(n):
        out[j] = kernels.exponential(np.uint64(seed), j, k, w, f)
    return out


def test_ziggurat_draws_are_exponential():
    x = np.sort(_exponentials(1_000_000, 12345, *sampling.ZIGGURAT))
    ks = np.abs((1.0 - np.exp(-x)) - np.arange(1, x.size + 1) / x.size).max()
    assert ks < 1.95 / math.sqrt(x.size), f"Kolmogorov-Smirnov distance {ks} (1e-3 level)"
    assert abs(x.mean() - 1.0) < 4e-3 and x.min() >= 0.0
    assert (x > sampling.kernels.ZIGGURAT_R).mean() == pytest.approx(math.exp(-sampling.kernels.ZIGGURAT_R), rel=0.2)


@pytest.mark.parametrize("p", [1e-9, 2.0**-20, 3e-6, 1e-4, 0.0078125, 0.01, 0.3, 0.5, 0.99, 1.0])
def test_ladder_thinning_gives_exactly_p(p):
    """Union of the levels above k(p) with level k(p) thinned at t(p) has probability p."""
    k, t = sampling.level_of(p), sampling.thin_threshold(p)
    assert 0.0 <= t <= 1.0
    if k == sampling.TAIL:
        assert t * sampling.level_p(sampling.TAIL) == pytest.approx(p, rel=1e-12)
    else:
        assert sampling.level_p(k + 1) < p <= sampling.level_p(k)
        kept = 1.0 - (1.0 - sampling.level_p(k + 1)) * (1.0 - sampling.level_rate(k) * t)
        assert kept == pytest.approx(p, rel=1e-12)


def test_same_chip_whatever_the_thread_count(qtensor_factory):
    """Blocks are independent streams: one thread and all threads flip the same bits."""
    qt = qtensor_factory(3 * sampling.BLOCK + 12_345, 8, True)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = RandomBitErrors(0.003, chip=4).perturb({"w": qt})["w"]
    finally:
        numba.set_num_threads(threads)
    many = RandomBitErrors(0.003, chip=4).perturb({"w": qt})["w"]
    assert np.array_equal(one.codes, many.codes)
    bits = qt.codes.size * 8
    assert within_4_sigma(int(flipped_bits(qt, many).sum()), bits, 0.003)
