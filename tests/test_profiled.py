"""Profiled chip maps laid over weight memory."""

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.quant.bits import to_words
from berth.quant.faults import ProfiledErrors, memory_layout


def test_layout_packs_codes_into_words(qtensor_factory):
    tensors = {"a": qtensor_factory(10, 8, True), "b": qtensor_factory(5, 4, False)}
    assert memory_layout(tensors, 32) == {"a": (0, 4), "b": (3, 8)}


def test_stuck_map_forces_exactly_the_mapped_bits(qtensor_factory, tmp_path):
    qt = qtensor_factory(8, 8, True)
    chip = -np.ones((2, 32), dtype=np.int8)
    chip[0, 0] = 1   # word 0, bit 0  -> code 0, bit 0 stuck at 1
    chip[1, 15] = 0  # word 1, bit 15 -> code 5 (second code of word 1), bit 7 stuck at 0
    path = tmp_path / "chip.npy"
    np.save(path, chip)
    out = ProfiledErrors(path, 32, kind="stuck").perturb({"w": qt})["w"]
    w0, w1 = to_words(qt.codes, 8), to_words(out.codes, 8)
    assert w1[0] == w0[0] | 1
    assert w1[5] == w0[5] & 0x7F
    assert np.array_equal(np.delete(w1, [0, 5]), np.delete(w0, [0, 5]))


def test_probability_map_extremes_and_wraparound(qtensor_factory):
    qt = qtensor_factory(12, 8, False)
    ones = np.zeros((1, 16))
    ones[0, :8] = 1.0  # first code of every (wrapped) word flips all bits, the second none
    out = ProfiledErrors(ones, 16, kind="prob").perturb({"w": qt})["w"]
    w0, w1 = to_words(qt.codes, 8), to_words(out.codes, 8)
    assert np.array_equal(w1[0::2], w0[0::2] ^ 0xFF)
    assert np.array_equal(w1[1::2], w0[1::2])


@pytest.mark.parametrize("shape", [(4,), (4, 16), (0, 32), (2, 2, 32)])
def test_map_of_wrong_shape_is_a_one_line_error(shape):
    with pytest.raises(BerthError, match=r"shape .* expected \(words, 32\)") as exc:
        ProfiledErrors(np.zeros(shape), 32)
    assert "\n" not in str(exc.value)
