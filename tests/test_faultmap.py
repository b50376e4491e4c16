"""Drawn chips (berth.quant.faultmap): drawn once, applied at any rate, bit-identical to the sampler."""

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.quant import sampling
from berth.quant.faults import DrawnChip, RandomBitErrors
from berth.quant.memory import WeightMemory

from conftest import one_numba_thread


@pytest.fixture
def memory(qtensor_factory):
    """Two segments; narrow signed codes (sign-extended flips), a tensor past one block, one of a word."""
    big = 2**sampling.BLOCK_BITS + 4_321
    return WeightMemory.pack({"a": qtensor_factory(1_000, 5, True), "b": qtensor_factory(big, 8, False, seed=1),
                              "c": qtensor_factory(3_000, 12, True, seed=2), "d": qtensor_factory(1, 3, True, seed=3),
                              "e": qtensor_factory(20_000, 16, False, seed=4)})


def same(a, b) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[n].codes, b[n].codes) for n in a)


RATES = [0.0, 1e-9, 2.0**-20, 1e-5, 2.0**-7, 0.003, 0.01, 0.02]


@pytest.mark.parametrize("bits, protect", [("all", ()), ("msb", ()), ([0, 2], (2,))])
def test_drawn_chip_flips_what_the_sampler_flips_at_every_rate(memory, bits, protect):
    drawn = RandomBitErrors(0.02, chip=9, bits=bits, protect=protect).draw(memory)
    for p in RATES:
        assert same(drawn.at(p).perturb(memory), RandomBitErrors(p, chip=9, bits=bits, protect=protect).perturb(memory))
    for p01, p10 in [(0.02, 0.001), (0.0, 0.01), (1e-6, 0.015)]:
        assert same(drawn.at(0.0, p01=p01, p10=p10).perturb(memory),
                    RandomBitErrors(0.0, chip=9, p01=p01, p10=p10, bits=bits, protect=protect).perturb(memory))


def test_dense_rates_and_a_directional_draw(memory):
    """Above p = 2^-1/2 the ladder's level 0 puts a point on every bit; p01 != p10 when drawing."""
    drawn = RandomBitErrors(0.0, chip=2, p01=0.9, p10=0.3).draw(memory)
    for p01, p10 in [(0.9, 0.3), (0.75, 0.1), (0.3, 0.3), (0.5, 0.0)]:
        assert same(drawn.at(0.0, p01=p01, p10=p10).perturb(memory),
                    RandomBitErrors(0.0, chip=2, p01=p01, p10=p10).perturb(memory))


def test_one_point_per_flipped_bit(qtensor_factory):
    """Points that fall on one bit are merged at drawing: at the drawn rate every point flips a bit."""
    memory = WeightMemory.pack({"a": qtensor_factory(70_000, 8, False), "b": qtensor_factory(9_000, 12, False, seed=1)})
    drawn = RandomBitErrors(0.05, chip=1).draw(memory)
    flipped = drawn.perturb(memory)
    count = sum(int(np.unpackbits((flipped[n].codes ^ memory[n].codes).view(np.uint8)).sum()) for n in memory)
    assert count == sum(m.points for m in drawn.maps) > 0.04 * (70_000 * 8 + 9_000 * 12)


def test_drawing_whatever_the_thread_count(memory):
    with one_numba_thread():
        one = RandomBitErrors(0.01, chip=4).draw(memory)
    many = RandomBitErrors(0.01, chip=4).draw(memory)
    for a, b in zip(one.maps, many.maps):
        assert a.points == b.points and np.array_equal(a.starts, b.starts)
    assert same(one.at(0.004).perturb(memory), many.at(0.004).perturb(memory))


def test_clean_codes_untouched_and_description_kept(memory):
    before = [seg.words.copy() for seg in memory.segments]
    drawn = RandomBitErrors(0.01, chip=3, bits="lsb").draw(memory)
    drawn.at(0.005).perturb(memory)
    assert all(np.array_equal(b, seg.words) for b, seg in zip(before, memory.segments))
    assert drawn.at(0.005).describe() == RandomBitErrors(0.005, chip=3, bits="lsb").describe()


def test_rate_above_the_drawn_one_and_another_layout_fail(memory, qtensor_factory):
    drawn = RandomBitErrors(0.01, chip=0).draw(memory)
    with pytest.raises(BerthError, match=r"p01=0\.02 is outside \[0, 0\.01\]"):
        drawn.at(0.02).perturb(memory)
    with pytest.raises(BerthError, match="laid out differently"):
        drawn.perturb({"a": qtensor_factory(999, 5, True)})


def test_sweep_draws_each_chip_once_within_its_memory_limit(memory, monkeypatch):
    from berth.flows import tasks

    points = [(p, k) for k in range(2) for p in (0.001, 0.01)]
    models = list(tasks.chip_models({"kind": "random"}, points, memory))
    assert [type(e) for *_, e in models] == [DrawnChip] * 4
    assert models[0][2].maps is models[1][2].maps and models[1][2].maps is not models[2][2].maps
    for p, k, errors in models:
        assert same(errors.perturb(memory), RandomBitErrors(p, chip=k).perturb(memory))
    monkeypatch.setattr(tasks, "DRAW_LIMIT_BYTES", 0)
    assert [type(e) for *_, e in tasks.chip_models({"kind": "random"}, points, memory)] == [RandomBitErrors] * 4
