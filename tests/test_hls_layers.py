"""Per-layer hls4ml settings: precisions, reuse factor, strategy and pass-through keys by berth's
layer name, validated, stored in the project, and exact where the types hold the exact values."""

import json

import pytest
import torch

from berth.core.config import load_config
from berth.core.errors import BerthError
from berth.core.tools import find_tool
from berth.data.datasets import load_dataset
from berth.hardware.hls4ml.chips import inject_chips
from berth.hardware.hls4ml.export import export_project
from berth.hardware.hls4ml.target import FixedType, HlsTarget, LayerSettings, parse_precision
from berth.hardware.hls4ml.verify import verify_project
from berth.models import create_model

LAYERS = {"conv2": LayerSettings(weight="fixed<10,1>", bias="fixed<20,2>", accum="fixed<30,10>",
                                 result="fixed<30,10>", reuse_factor=2),
          "fc1": LayerSettings(accum="fixed<24,6>", result="fixed<24,6>", reuse_factor=4, strategy="Resource",
                               hls4ml={"Trace": True})}


@pytest.fixture(scope="module")
def lenet():
    """A hardware LeNet with its activation scales set on real digits (weights as initialised)."""
    model = create_model("lenet", scheme="fixed", bits=8, act_bits=8, hw=True, seed=1, channels=(4, 8), hidden=16)
    model.train()
    with torch.no_grad():
        model(load_dataset("digits").x_train[:256])
    return model.eval()


def test_layer_tables_load_from_toml_and_bad_values_are_one_line(tmp_path):
    from berth.flows.hls import HlsExportConfig

    cfg_file = tmp_path / "hls.toml"
    cfg_file.write_text('[target]\nreuse_factor = 2\n[target.hls4ml]\nBramFactor = 4096\n'
                        '[target.layers.fc1]\naccum = "fixed<24,6>"\nreuse_factor = 4\nstrategy = "Resource"\n'
                        '[target.layers."body.1"]\nweight = "ap_fixed<12,2,AP_RND,AP_SAT>"\nhls4ml = { Trace = true }\n')
    target = load_config(HlsExportConfig, cfg_file, ["target.layers.fc1.result='fixed<24,6>'"]).target
    assert target.layers["fc1"] == LayerSettings(accum="fixed<24,6>", result="fixed<24,6>", reuse_factor=4,
                                                 strategy="Resource")
    assert target.layers["body.1"].hls4ml == {"Trace": True} and target.hls4ml == {"BramFactor": 4096}
    bad = {"target.layers.fc1.acc='fixed<8,1>'": "unknown key 'acc' .*allowed: weight, bias, accum, result",
           "target.layers.fc1.accum='float'": r"target.layers.fc1.accum = 'float' is not an hls4ml fixed-point",
           "target.layers.fc1.reuse_factor=0": "reuse_factor = 0 must be >= 1",
           "target.layers.fc1.strategy='Fast'": "strategy",
           "target.layers.fc1.hls4ml={ReuseFactor=2}": "ReuseFactor: berth sets it from reuse_factor",
           "target.hls4ml={Precision='fixed<8,1>'}": "Precision: berth sets it from weight/bias/accum/result"}
    for override, message in bad.items():
        with pytest.raises(BerthError, match=message) as err:
            load_config(HlsExportConfig, None, [override])
        assert "\n" not in str(err.value)


def test_precision_shapes_and_containment():
    assert parse_precision("ap_ufixed<8,0,AP_RND,AP_SAT>", "x") == FixedType(8, 0, False)
    assert parse_precision("int<6>", "x") == FixedType(6, 6, True)
    wide, exact = FixedType(30, 10, True), FixedType(22, 6, True)
    assert wide.holds(exact) and not exact.holds(wide)
    assert not FixedType(20, 6, True).holds(exact)  # fewer fractional bits
    assert not FixedType(8, 1, False).holds(FixedType(8, 1, True))  # unsigned cannot hold negatives
    assert FixedType(9, 2, True).holds(FixedType(8, 1, False))


def test_unknown_layer_names_the_layers_that_exist(lenet, tmp_path):
    target = HlsTarget(layers={"fc9": LayerSettings(reuse_factor=2)})
    with pytest.raises(BerthError, match=r"target.layers: unknown layer 'fc9'; the model's layers: conv1, conv2, fc1, fc2"):
        export_project(lenet, tmp_path / "prj", target)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("layers, message", [
    ({"fc1": LayerSettings(accum="fixed<16,6>")},
     r"target.layers.fc1.accum = 'fixed<16,6>' breaks exactness: accum must hold the sum of any stored codes .*"
     r"\(fixed<\d+,\d+>\); 10 fractional bits < the \d+ needed: values would be rounded"),
    ({"conv1": LayerSettings(result="fixed<22,3>")},
     r"target.layers.conv1.result = 'fixed<22,3>' breaks exactness: .*its range does not cover fixed<\d+,\d+>: values would wrap"),
    ({"conv2": LayerSettings(weight="fixed<6,-1>")}, r"conv2.weight = 'fixed<6,-1>' breaks exactness: weight must hold "
     r"every code of the layer's width"),
    ({"fc2": LayerSettings(reuse_factor=3, strategy="Resource")}, r"target.layers.fc2.reuse_factor = 3 is not valid for layer 'fc2' "
     r"\(hls4ml Dense Dense_MatMul_1\): hls4ml would use"),
    ({"fc2": LayerSettings(hls4ml={"TableSize": 64})}, r"target.layers.fc2.hls4ml: unknown key 'TableSize' for "
     r"hls4ml's Dense; allowed: Trace"),
], ids=["accum-rounds", "result-wraps", "weight-narrow", "reuse-invalid", "pass-through-unknown"])
def test_settings_that_break_exactness_are_refused_saying_why(lenet, tmp_path, layers, message):
    with pytest.raises(BerthError, match=message) as err:
        export_project(lenet, tmp_path / "prj", HlsTarget(layers=layers))
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_cli_refuses_an_unknown_layer_before_training(tmp_path, capsys, monkeypatch):
    from berth.cli import main
    from berth.train import loop

    monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("trained before checking the layer names"))
    assert main(["hls", "export", "mlp", "--out", str(tmp_path / "prj"), "--set", "target.layers.fc9.reuse_factor=2"]) == 2
    assert "target.layers: unknown layer 'fc9'; the model's layers: body.1, body.3, body.5" in capsys.readouterr().err


def test_unknown_model_pass_through_key_is_refused(lenet, tmp_path):
    with pytest.raises(BerthError, match=r"target.hls4ml: unknown hls4ml model key 'Bram'; allowed: .*BramFactor"):
        export_project(lenet, tmp_path / "prj", HlsTarget(hls4ml={"Bram": 1}))


@pytest.mark.hls
@pytest.mark.slow
@pytest.mark.skipif(find_tool("g++") is None, reason="C simulation needs g++")
def test_two_layers_at_their_own_precision_and_reuse_are_exact(lenet, tmp_path):
    project = export_project(lenet, tmp_path / "prj", HlsTarget(layers=LAYERS))
    config = project.meta["layer_config"]
    assert (config["conv2"]["reuse_factor"], config["fc1"]["reuse_factor"], config["conv1"]["reuse_factor"]) == (2, 4, 1)
    assert config["conv2"]["accum"].startswith("fixed<30,10") and config["fc1"]["accum"].startswith("fixed<24,6")
    assert config["conv2"]["weight"].startswith("fixed<10,1") and config["fc1"]["strategy"] == "resource"
    assert project.target == HlsTarget(layers=LAYERS)  # the resolved settings round-trip from project.json
    defines = (project.root / "firmware" / "defines.h").read_text()
    assert "ap_fixed<30,10> Conv2D_Conv_1_accum_t" in defines and "ap_fixed<24,6> Dense_MatMul_0_accum_t" in defines
    res = verify_project(project, n=200)
    assert res.exact_match == 1.0 and res.max_abs_diff == 0.0
    (chip,) = inject_chips(project, 0.01, [3], n=100)
    assert chip.comparison.exact_match == 1.0 and chip.flipped_codes > 0
    assert json.loads((project.berth_dir / "project.json").read_text())["target"]["layers"]["fc1"]["reuse_factor"] == 4
    cost = json.loads((project.berth_dir / "cost.json").read_text())  # the tool-free estimate, per berth layer
    assert set(cost["per_layer"]) == {"conv1", "conv2", "fc1", "fc2"}
    assert cost["per_layer"]["fc1"]["resources"]["BRAM_18K"] > 0 == cost["per_layer"]["fc2"]["resources"]["BRAM_18K"]
    assert cost["resources"]["LUT"] == sum(v["resources"]["LUT"] for v in cost["per_layer"].values())
