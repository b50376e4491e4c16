"""Training: config validation, the RandBET gradient step, clipping, curriculum, AdvBET, run directories."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from berth.data.datasets import Dataset, load_digits
from berth.core.errors import BerthError
from berth.models import create_model
from berth.quant.brevitas_quant import quantized_layers
from berth.quant.flips import count_flips
from berth.quant.inject import model_codes
from berth.train.randbet import RandomPerturbation, batch_seed, bet_backward
from berth.train.loop import TrainConfig, clip_weights, train


@pytest.fixture(scope="module")
def small_digits():
    d = load_digits()
    return Dataset("digits-small", d.x_train[:256], d.y_train[:256], d.x_test[:200], d.y_test[:200])


def mlp(w_max=0.1, scheme="rquant"):
    return create_model("mlp", scheme=scheme, bits=8, w_max=w_max, hidden=(32,), seed=0)


@pytest.mark.parametrize("kw, fragment", [
    ({"method": "sgd"}, "unknown training method 'sgd'; allowed: qat, randbet, advbet"),
    ({"bet_p": 1.5}, "bet_p = 1.5 is outside"),
    ({"bet_p": -0.1}, "bet_p = -0.1 is outside"),
    ({"bet_epsilon": -1}, "bet_epsilon = -1 must be"),
    ({"bet_grad_clip": 0.0}, "bet_grad_clip = 0.0 must be > 0"),
    ({"epochs": -2}, "epochs = -2"),
    ({"lr": 0}, "lr = 0 must be > 0"),
])
def test_bad_config_names_the_value(kw, fragment):
    with pytest.raises(BerthError, match=fragment):
        TrainConfig(**kw)


def test_bet_backward_averages_clean_and_clipped_perturbed_gradients():
    """With unperturbed codes the perturbed gradient equals the clean one: result (g + clip(g)) / 2."""
    torch.manual_seed(0)
    model = mlp()
    clip_weights(model)  # as training does first: the clean STE then passes every weight's gradient
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
    F.cross_entropy(model(x), y).backward()
    clean = [p.grad.clone() for p in model.parameters()]
    clip = float(torch.cat([g.abs().reshape(-1) for g in clean]).median())
    bet_backward(model, x, y, model_codes(model), clip)
    for p, g in zip(model.parameters(), clean):
        torch.testing.assert_close(p.grad, (g + g.clamp(-clip, clip)) / 2)


def test_random_perturbation_is_a_fresh_chip_per_batch_and_reproducible():
    model = mlp()
    clean = model_codes(model)
    perturb = RandomPerturbation(0.02, seed=5)
    x, y = torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long)
    a, b, c = perturb(model, x, y, 0, 3), perturb(model, x, y, 0, 3), perturb(model, x, y, 0, 4)
    flips_a = count_flips(clean, a)
    assert flips_a == count_flips(clean, b) and all((a[n].codes == b[n].codes).all() for n in a)
    assert any((a[n].codes != c[n].codes).any() for n in a)
    bits = sum(qt.codes.size * qt.bits for qt in clean.values())
    assert abs(sum(flips_a.values()) - 0.02 * bits) < 5 * np.sqrt(0.02 * bits)
    assert batch_seed(5, 0, 3, "randbet") != batch_seed(5, 0, 3, "advbet")


@pytest.mark.parametrize("method", ["qat", "randbet"])
def test_training_learns_and_keeps_weights_clipped(small_digits, method):
    model = mlp(w_max=0.1)
    history = train(model, small_digits, TrainConfig(epochs=4, method=method, lr=0.3), progress=False)
    assert [m["epoch"] for m in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.1 and history[-1]["test_error"] < 0.85
    assert history[-1]["perturbed_share"] == (1.0 if method == "randbet" else 0.0)
    for layer in quantized_layers(model).values():
        assert float(layer.weight.detach().abs().max()) == pytest.approx(0.1)  # the projection is active


def test_curriculum_withholds_perturbed_gradients_until_the_loss_is_low(small_digits):
    cfg = TrainConfig(epochs=2, method="randbet", bet_curriculum=1e-6)
    history = train(mlp(), small_digits, cfg, progress=False)
    assert all(m["perturbed_share"] == 0.0 and m["perturbed_loss"] is None for m in history)


def test_advbet_trains_with_adversarial_bit_errors(small_digits):
    tiny = Dataset("tiny", small_digits.x_train[:64], small_digits.y_train[:64], small_digits.x_test, small_digits.y_test)
    history = train(mlp(), tiny, TrainConfig(epochs=1, method="advbet", bet_epsilon=4, adv_iterations=2), progress=False)
    assert history[0]["perturbed_share"] == 1.0
    assert history[0]["perturbed_loss"] > history[0]["train_loss"]


def test_run_directory_metrics_checkpoint_and_refusal_to_overwrite(small_digits, tmp_path):
    model = mlp()
    cfg = TrainConfig(epochs=2, method="randbet")
    history = train(model, small_digits, cfg, progress=False, run_dir=tmp_path)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == json.loads(json.dumps(history))
    with pytest.raises(BerthError, match="already holds a checkpoint"):
        train(mlp(), small_digits, cfg, progress=False, run_dir=tmp_path)
    resumed = mlp()
    assert train(resumed, small_digits, cfg, progress=False, run_dir=tmp_path, resume=True) == lines
    for key, value in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value)
    with pytest.raises(BerthError, match="trained with bet_p = 0.01, not 0.02"):
        train(mlp(), small_digits, TrainConfig(epochs=2, method="randbet", bet_p=0.02), progress=False,
              run_dir=tmp_path, resume=True)
