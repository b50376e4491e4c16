"""Model registry: reproducible construction and shapes of the zoo."""

import pytest
import torch

from berth.models import create_model, list_models


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_same_seed_same_model_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = create_model("lenet", seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after), "create_model must not consume the global RNG"
    assert torch.equal(flat(a), flat(create_model("lenet", seed=5)))
    assert not torch.equal(flat(a), flat(create_model("lenet", seed=6)))


@pytest.mark.parametrize("name", list_models())
def test_zoo_forward_shapes(name):
    kw = {"in_channels": 3, "input_size": 32} if name == "resnet20" else {}
    model = create_model(name, **kw).eval()
    x = torch.rand(2, kw.get("in_channels", 1), kw.get("input_size", 8), kw.get("input_size", 8))
    assert model(x).shape == (2, 10)
    assert model.berth_config["name"] == name


def test_resnet20_has_resnet20_size():
    n = sum(p.numel() for p in create_model("resnet20", in_channels=3, input_size=32).parameters())
    assert 0.26e6 < n < 0.28e6
