"""What the profiler measures: float equivalent, integer path, labelled rows in the store."""

import pytest
import torch

from berth.hardware.latency.profiler import ProfileSettings, model_key, profile_model
from berth.hardware.latency.tables import open_store
from berth.hardware.latency.variants import float_equivalent, integer_path
from berth.models import create_model

QUICK = dict(repeats=5, warmup_s=0.0, block_s=0.0005)


@pytest.mark.parametrize("name,kw", [("lenet", {}), ("resnet20", {"width": 4}), ("mlp", {"act_bits": 8, "hw": True})])
def test_float_equivalent_is_plain_torch_with_the_simulated_weights(name, kw):
    model = create_model(name, scheme="rquant", bits=4, seed=1, **kw).eval()
    plain = float_equivalent(model)
    assert not [n for n, m in plain.named_modules() if type(m).__module__.startswith("brevitas")]
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        if "act_bits" not in kw:  # float activations: the same function exactly
            torch.testing.assert_close(plain(x), model(x), rtol=1e-5, atol=1e-5)
        else:
            assert plain(x).shape == model(x).shape
    assert type(model.body[1] if name == "mlp" else model.conv1).__module__.startswith("brevitas")


def test_integer_path_exists_only_with_integer_kernels():
    hw = create_model("lenet", act_bits=8, hw=True).eval()
    path = integer_path(hw, torch.rand(1, 1, 8, 8), threads=1)
    assert path.session is not None and path.integer_layers >= 1, path.why
    assert path.integer_layers <= path.weight_layers
    path.runner(torch.rand(1, 1, 8, 8).numpy())()
    float_acts = create_model("lenet").eval()
    none = integer_path(float_acts, torch.rand(1, 1, 8, 8), threads=1)
    assert none.session is None and "float" in none.why


def test_profile_rows_are_labelled_and_stored(tmp_path):
    model = create_model("lenet", act_bits=8, hw=True)
    s = ProfileSettings(batches=(1, 2), **QUICK)
    prof = profile_model(model, (1, 8, 8), s, "lenet", progress=lambda _: None)
    by = {(r["variant"], r["batch"]): r for r in prof.rows}
    assert set(by) == {(v, b) for v in ("simulation", "float", "integer-ort") for b in (1, 2)}
    assert by[("simulation", 1)]["deployable"] == 0 and by[("float", 1)]["deployable"] == 1
    assert by[("integer-ort", 2)]["dtype"] == "int8" and by[("integer-ort", 2)]["detail"]["integer_ops"]
    for r in prof.rows:
        assert r["threads"] == 1 and r["timer"] == "torch.utils.benchmark" and r["samples"] == 5
        assert r["ms_per_image"] == pytest.approx(r["ms_median"] / r["batch"])
        assert r["ms_q1"] <= r["ms_median"] <= r["ms_q3"] and r["ms_p90"] >= r["ms_median"]
        assert r["env"]["threads"] == 1 and "load_avg" in r["env"]
        assert r["model_key"] == model_key(model.berth_config, "lenet")
    with open_store(tmp_path / "s.sqlite") as store:
        assert store.insert("latency", prof.rows) == 6
        assert len(store.query("latency", {"variant": "float"})) == 2


def test_unsupported_dtype_or_missing_integer_path_is_a_note():
    prof = profile_model(create_model("lenet"), (1, 8, 8),
                         ProfileSettings(batches=(1,), dtypes=("fp32", "bf16"), **QUICK), "lenet",
                         progress=lambda _: None)
    assert any("no integer path" in n for n in prof.notes)
    assert any("float32 only" in n for n in prof.notes)
    assert {r["variant"] for r in prof.rows} == {"simulation", "float"}


def test_model_key_ignores_seed_and_clipping():
    a = create_model("lenet", seed=1, w_max=0.1).berth_config
    b = create_model("lenet", seed=2).berth_config
    c = create_model("lenet", bits=4).berth_config
    assert model_key(a, "lenet") == model_key(b, "lenet") != model_key(c, "lenet")
