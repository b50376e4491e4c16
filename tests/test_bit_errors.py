"""Statistics and semantics of the bit-error models (berth.quant.faults)."""

import numpy as np
import pytest

from berth.quant.bits import to_words
from berth.quant.faults import RandomBitErrors, StuckAtErrors

N_BITS = 1_200_000  # >= 10^6 bits per measured rate


def flipped_bits(before, after):
    """Per-bit XOR of two QTensors' words as a (n, bits) 0/1 array."""
    diff = to_words(before.codes, before.bits) ^ to_words(after.codes, after.bits)
    return (diff[:, None].astype(np.int64) >> np.arange(before.bits)) & 1


def within_4_sigma(count: int, trials: int, p: float) -> bool:
    sigma = np.sqrt(trials * p * (1 - p))
    return abs(count - trials * p) <= 4 * sigma


@pytest.mark.parametrize("p", [1e-4, 1e-3, 0.01, 0.1, 0.37, 0.9])
def test_flip_rate_within_4_sigma(qtensor_factory, p):
    qt = qtensor_factory(N_BITS // 8, 8, True)
    out = RandomBitErrors(p, chip=3).perturb({"w": qt})["w"]
    count = int(flipped_bits(qt, out).sum())
    assert within_4_sigma(count, N_BITS, p), (count, N_BITS * p)


@pytest.mark.parametrize("p01,p10", [(0.002, 0.03), (0.05, 0.9)])
def test_directional_rates_within_4_sigma(qtensor_factory, p01, p10):
    """0->1 and 1->0 flips happen at their own rates, counted over the bits holding 0 and 1
    (the second pair crosses the dense top level of the ladder, p > 2^-0.5)."""
    qt = qtensor_factory(2 * N_BITS // 8, 8, False, seed=1)
    out = RandomBitErrors(0.0, chip=5, p01=p01, p10=p10).perturb({"w": qt})["w"]
    bits_before = (to_words(qt.codes, 8)[:, None].astype(np.int64) >> np.arange(8)) & 1
    flips = flipped_bits(qt, out)
    zeros, ones = bits_before == 0, bits_before == 1
    assert zeros.sum() >= 10**6 and ones.sum() >= 10**6
    assert within_4_sigma(int(flips[zeros].sum()), int(zeros.sum()), p01)
    assert within_4_sigma(int(flips[ones].sum()), int(ones.sum()), p10)


def test_nested_across_p(qtensor_factory):
    qt = qtensor_factory(50_000, 8, True)
    previous = None
    for p in [1e-5, 1e-4, 3e-4, 1e-3, 0.004, 0.01, 0.05, 0.3, 0.6, 1.0]:
        flips = flipped_bits(qt, RandomBitErrors(p, chip=7).perturb({"w": qt})["w"]).astype(bool)
        if previous is not None:
            assert not (previous & ~flips).any(), f"a bit flipped below p={p} is not flipped at p={p}"
        previous = flips
    assert previous.all(), "p = 1 flips every bit"


def test_deterministic_and_independent_of_parameter_order(qtensor_factory):
    a, b, c = (qtensor_factory(10_000, bits, signed, seed=s) for s, bits, signed in [(0, 8, True), (1, 4, False), (2, 12, True)])
    one = RandomBitErrors(0.02, chip=11).perturb({"a": a, "b": b, "c": c})
    two = RandomBitErrors(0.02, chip=11).perturb({"c": c, "b": b, "a": a})
    alone = RandomBitErrors(0.02, chip=11).perturb({"b": b})
    for name in "abc":
        assert np.array_equal(one[name].codes, two[name].codes)
    assert np.array_equal(one["b"].codes, alone["b"].codes)
    other_chip = RandomBitErrors(0.02, chip=12).perturb({"a": a})
    assert not np.array_equal(one["a"].codes, other_chip["a"].codes)


def test_low_planes_same_whatever_the_word_width(qtensor_factory):
    """Bit b of element i flips for a chip whatever the code width (pure in element and bit)."""
    q4, q8 = qtensor_factory(20_000, 4, False), qtensor_factory(20_000, 8, False, seed=1)
    f4 = flipped_bits(q4, RandomBitErrors(0.05, chip=2).perturb({"w": q4})["w"])
    f8 = flipped_bits(q8, RandomBitErrors(0.05, chip=2).perturb({"w": q8})["w"])
    assert np.array_equal(f4, f8[:, :4])


def test_tiny_p_is_exact_and_sparse(qtensor_factory):
    qt = qtensor_factory(1_000_000, 8, True)
    out = RandomBitErrors(1e-9, chip=0).perturb({"w": qt})["w"]
    assert int(flipped_bits(qt, out).sum()) <= 2  # expectation 0.008
    assert np.array_equal(RandomBitErrors(0.0).perturb({"w": qt})["w"].codes, qt.codes)


@pytest.mark.parametrize("bits,signed", [(2, True), (4, False), (7, True), (8, True), (12, False), (16, True)])
def test_bits_above_width_and_protected_bits_untouched(qtensor_factory, bits, signed):
    qt = qtensor_factory(20_000, bits, signed)
    protect = (bits - 1,)
    out = RandomBitErrors(0.5, chip=1, protect=protect).perturb({"w": qt})["w"]
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    assert out.codes.min() >= lo and out.codes.max() <= hi, "codes left their width"
    assert out.codes.dtype == qt.codes.dtype
    assert not flipped_bits(qt, out)[:, bits - 1].any(), "protected MSB was touched"


def test_msb_and_lsb_only(qtensor_factory):
    qt = qtensor_factory(20_000, 8, True)
    msb = flipped_bits(qt, RandomBitErrors(0.3, chip=1, bits="msb").perturb({"w": qt})["w"])
    lsb = flipped_bits(qt, RandomBitErrors(0.3, chip=1, bits="lsb").perturb({"w": qt})["w"])
    assert msb[:, :7].sum() == 0 and msb[:, 7].sum() > 0
    assert lsb[:, 1:].sum() == 0 and lsb[:, 0].sum() > 0


@pytest.mark.parametrize("value", [0, 1])
def test_stuck_at_semantics(qtensor_factory, value):
    qt = qtensor_factory(50_000, 8, True)
    out = StuckAtErrors(0.05, chip=4, value=value).perturb({"w": qt})["w"]
    before = (to_words(qt.codes, 8)[:, None].astype(np.int64) >> np.arange(8)) & 1
    after = (to_words(out.codes, 8)[:, None].astype(np.int64) >> np.arange(8)) & 1
    changed = before != after
    assert (after[changed] == value).all(), "a stuck cell reads its stuck value"
    # only cells holding the other value can change; their share is ~p
    other = before != value
    assert within_4_sigma(int(changed.sum()), int(other.sum()), 0.05)


def test_stuck_at_random_values_nested(qtensor_factory):
    qt = qtensor_factory(50_000, 8, False)
    low = StuckAtErrors(0.01, chip=9).perturb({"w": qt})["w"]
    high = StuckAtErrors(0.1, chip=9).perturb({"w": qt})["w"]
    w0, wl, wh = (to_words(t.codes, 8) for t in (qt, low, high))
    d_low = wl ^ w0
    assert d_low.any()
    # every bit changed at low p is changed at high p, to the same stuck value
    assert np.array_equal(wh & d_low, wl & d_low)
    assert np.array_equal((wh ^ w0) & d_low, d_low)
