"""Adversarial bit errors: exact budgets, one flip per word, restarts, targets, PBS and random flips."""

import numpy as np
import pytest
import torch

from berth.data.datasets import load_digits
from berth.core.errors import BerthError
from berth.models import create_model
from berth.quant.attack import bit_flip_attack, progressive_bit_search, random_flips
from berth.quant.attack import _msb
from berth.quant.faults import RandomBitErrors
from berth.quant.evaluate import predict, robust_error
from berth.quant.flips import count_flips, popcount, words
from berth.quant.inject import model_codes
from berth.train.loop import TrainConfig, train


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module", params=["rquant", "normal"])
def trained(request, digits):
    """A small plainly trained 8-bit MLP (unsigned offset codes, and signed two's complement ones)."""
    model = create_model("mlp", scheme=request.param, bits=8, hidden=(32,), seed=0)
    train(model, digits, TrainConfig(epochs=8, seed=0), progress=False)
    return model


def flipped_bits(clean, result_codes):
    """Independent count: popcount of clean XOR attacked words, per layer."""
    return {n: int(np.unpackbits((words(clean[n]) ^ words(result_codes[n])).astype(np.uint16).view(np.uint8)).sum())
            for n in clean}


def test_global_budget_is_exact_and_attack_beats_random_errors(trained, digits):
    x, y = digits.x_test, digits.y_test
    clean = model_codes(trained)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    result = bit_flip_attack(trained, x, y, 16, iterations=10)
    counted = flipped_bits(clean, result.codes)
    assert counted == result.flips_per_layer == count_flips(clean, result.codes)
    assert sum(counted.values()) == result.flips == 16
    assert len(result.loss) == len(result.accuracy) == 11 and result.loss[0] < max(result.loss)
    random = robust_error(trained, x, y, [RandomBitErrors(0.001, chip=k) for k in range(10)])
    assert result.error > random.mean + 0.2
    for key, value in trained.state_dict().items():
        assert torch.equal(value, before[key])  # float weights untouched


def test_per_layer_budget_and_one_flip_per_word(trained, digits):
    x, y = digits.x_test[:200], digits.y_test[:200]
    clean = model_codes(trained)
    result = bit_flip_attack(trained, x, y, 5, per_layer=True, one_per_word=True, iterations=5)
    counted = flipped_bits(clean, result.codes)
    assert counted == result.flips_per_layer and all(v == 5 for v in counted.values())
    for name in clean:
        assert popcount(words(clean[name]) ^ words(result.codes[name])).max() <= 1


def test_zero_budget_changes_nothing_and_restarts_keep_the_best(trained, digits):
    x, y = digits.x_test[:200], digits.y_test[:200]
    clean = model_codes(trained)
    none = bit_flip_attack(trained, x, y, 0, iterations=3)
    assert none.flips == 0 and all((none.codes[n].codes == clean[n].codes).all() for n in clean)
    result = bit_flip_attack(trained, x, y, 4, iterations=3, restarts=3, seed=1)
    assert len(result.restart_losses) == 3 and max(result.loss) == max(result.restart_losses)
    assert result.flips == sum(flipped_bits(clean, result.codes).values()) <= 4
    again = bit_flip_attack(trained, x, y, 4, iterations=3, restarts=3, seed=1)
    assert again.loss == result.loss  # seeded


def test_layer_subset_and_targeted_attack(trained, digits):
    x, y = digits.x_test, digits.y_test
    clean = model_codes(trained)
    last = list(clean)[-1]
    result = bit_flip_attack(trained, x, y, 8, layers=[last], target=3, iterations=8)
    assert set(result.codes) == {last} and result.flips == flipped_bits({last: clean[last]}, result.codes)[last] <= 8
    from berth.quant.inject import use_codes

    with use_codes(trained, result.codes):
        hit = (predict(trained, x) == 3).mean()
    assert hit > (predict(trained, x) == 3).mean() + 0.1


def test_progressive_bit_search_reaches_chance(trained, digits):
    x, y = digits.x_test, digits.y_test
    clean = model_codes(trained)
    result = progressive_bit_search(trained, x, y, max_iterations=60)
    assert result.reached and result.accuracy[-1] <= 0.11
    assert result.iterations == len(result.flipped) == len(result.loss) - 1
    assert result.flips == sum(flipped_bits(clean, result.codes).values()) <= result.iterations
    capped = progressive_bit_search(trained, x, y, max_iterations=2)
    assert capped.iterations == 2 and not capped.reached and capped.flips <= 2


def test_random_flips_exact_and_nested(trained, digits):
    x, y = digits.x_test, digits.y_test
    clean = model_codes(trained)
    result = random_flips(trained, x, y, [0, 10, 100], seed=2)
    assert result.flips == 100 == sum(flipped_bits(clean, result.codes).values())
    assert result.accuracy[0] == pytest.approx(float((predict(trained, x) == y.numpy()).mean()))
    small = random_flips(trained, x, y, [10], seed=2)
    small_diff = {n: words(clean[n]) ^ words(small.codes[n]) for n in clean}
    big_diff = {n: words(clean[n]) ^ words(result.codes[n]) for n in clean}
    assert all(((small_diff[n] & big_diff[n]) == small_diff[n]).all() for n in clean)


def test_msb_keeps_the_most_significant_differing_bit():
    diff = np.array([0, 1, 2, 3, 0b1011_0000, 0xFFFF, 0x8000])
    assert _msb(diff).tolist() == [0, 1, 2, 2, 0b1000_0000, 0x8000, 0x8000]


@pytest.mark.parametrize("kw, fragment", [({"epsilon": -1}, "epsilon = -1"), ({"epsilon": 2, "restarts": 0}, "restarts = 0"),
                                          ({"epsilon": 2, "layers": ["nope"]}, "nope")])
def test_bad_attack_arguments(kw, fragment, trained, digits):
    with pytest.raises(BerthError, match=fragment):
        bit_flip_attack(trained, digits.x_test[:10], digits.y_test[:10], **kw)
