"""Weight memory (berth.quant.memory): packed codes, and one-pass injection equal to per-tensor injection."""

import pickle

import numpy as np
import pytest

from berth.quant import sampling
from berth.quant.faults import RandomBitErrors
from berth.quant.memory import WeightMemory

from conftest import one_numba_thread


@pytest.fixture
def tensors(qtensor_factory):
    """Mixed widths and signs, some past one block: two segments (8- and 16-bit containers)."""
    big = 2 * 2**sampling.BLOCK_BITS + 777
    return {"a": qtensor_factory(1_000, 8, True), "b": qtensor_factory(big, 4, False, seed=1),
            "c": qtensor_factory(3_000, 12, True, seed=2), "d": qtensor_factory(1, 8, False, seed=3),
            "e": qtensor_factory(big, 16, False, seed=4)}


def test_pack_views_one_buffer_per_width_in_order(tensors):
    memory = WeightMemory.pack(tensors)
    assert list(memory) == list(tensors)
    assert [s.words.dtype for s in memory.segments] == [np.uint8, np.uint16]
    for seg in memory.segments:
        for name in seg.packing.names:
            qt = memory[name]
            assert np.shares_memory(qt.codes, seg.words)
            assert qt.codes.dtype == tensors[name].codes.dtype and np.array_equal(qt.codes, tensors[name].codes)
            assert (qt.scale, qt.zero_point, qt.bits, qt.signed) == (tensors[name].scale, tensors[name].zero_point,
                                                                      tensors[name].bits, tensors[name].signed)
    assert WeightMemory.pack(memory) is memory


def test_pickled_memory_keeps_views(tensors):
    memory = pickle.loads(pickle.dumps(WeightMemory.pack(tensors)))
    for seg in memory.segments:
        assert all(np.shares_memory(memory[name].codes, seg.words) for name in seg.packing.names)
    assert all(np.array_equal(memory[n].codes, qt.codes) for n, qt in tensors.items())


def test_one_pass_equals_each_tensor_alone(tensors):
    """A chip corrupts each tensor of the packed memory exactly as it corrupts that tensor alone."""
    memory = WeightMemory.pack(tensors)
    before = [seg.words.copy() for seg in memory.segments]
    errors = RandomBitErrors(0.01, chip=5, p10=0.02)
    whole = errors.perturb(memory)
    for name, qt in tensors.items():
        assert np.array_equal(whole[name].codes, errors.perturb({name: qt})[name].codes)
    assert all(np.array_equal(b, seg.words) for b, seg in zip(before, memory.segments)), "clean codes changed"
    assert isinstance(whole, WeightMemory) and list(whole) == list(tensors)


def test_work_units_cover_every_block_once():
    sizes = (5, 2**sampling.BLOCK_BITS, 3 * 2**sampling.BLOCK_BITS + 1, 0, 10)
    for workers in (1, 2, 3, 16):
        units, order, starts = sampling.work_units(sizes, workers)
        assert starts[0] == 0 and starts[-1] == len(units) and len(starts) == workers + 1
        assert sorted(order.tolist()) == list(range(len(units)))
    assert [tuple(u) for u in units] == [(0, 0, 5, 0), (1, 5, 2**18, 0)] + [
        (2, 5 + 2**18, 3 * 2**18 + 1, b) for b in range(4)] + [(4, 5 + 4 * 2**18 + 1, 10, 0)]


def test_packed_chip_whatever_the_thread_count(tensors):
    memory = WeightMemory.pack(tensors)
    with one_numba_thread():
        one = RandomBitErrors(0.003, chip=4).perturb(memory)
    many = RandomBitErrors(0.003, chip=4).perturb(memory)
    assert all(np.array_equal(one[n].codes, many[n].codes) for n in tensors)
