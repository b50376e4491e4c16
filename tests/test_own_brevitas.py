"""A user's plain Brevitas model (its own quantizers, written without berth) as a weight memory and
in hardware: codes are Brevitas' integers, chips replace them exactly; the user's CNN goes through
``berth eval``, ``berth sweep``, ``hls export`` -> ``verify`` -> ``inject`` in separate processes;
its QONNX export goes through ``hls export`` -> ``verify`` against qonnx's own execution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv1d, QuantLinear
from brevitas.quant import Int8WeightPerChannelFloat, Int8WeightPerTensorFixedPoint, ShiftedUint8WeightPerTensorFloat
from torch import nn

from berth.core.errors import BerthError
from berth.quant.faults import RandomBitErrors
from berth.quant.inject import model_codes, use_codes

USER_CNN = '''
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Int16Bias,
                            Uint8ActPerTensorFixedPoint)
from torch import nn


class Net(nn.Module):
    def __init__(self, in_channels=1, input_size=8, num_classes=10, width=8):
        super().__init__()
        self.input_quant = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.conv1 = QuantConv2d(in_channels, width, 3, padding=1, weight_quant=Int8WeightPerTensorFixedPoint,
                                 bias_quant=Int16Bias, return_quant_tensor=True)
        self.relu1 = QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = QuantConv2d(width, width, 3, padding=1, weight_quant=Int8WeightPerTensorFixedPoint,
                                 bias_quant=Int16Bias, return_quant_tensor=True)
        self.relu2 = QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.pool2 = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc = QuantLinear(width * (input_size // 4) ** 2, num_classes, weight_quant=Int8WeightPerTensorFixedPoint,
                              bias_quant=Int16Bias)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(self.input_quant(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flat(x))
'''
CHIPS, P, N = ("0", "1", "2"), "0.02", "150"  # N: the whole test set of the npz below


def user_cnn(folder: Path):
    """The user's module, written outside berth and imported from its file."""
    (folder / "my_cnn.py").write_text(USER_CNN)
    from berth.models.imports import import_module

    return import_module(str(folder / "my_cnn.py"))


def calibrated(model: nn.Module, seed: int = 0) -> nn.Module:
    """Brevitas' activation scales come from a first training-mode pass."""
    torch.manual_seed(seed)
    model.train()
    model(torch.rand(16, 1, 8, 8))
    return model.eval()


def reference_forward(net, x: torch.Tensor, codes: dict) -> torch.Tensor:
    """The user's CNN computed by hand with integer weights ``codes`` (value = code * scale) and the
    model's own activation quantizers and 16-bit biases on scale input x weight scale."""
    def layer(op, inp, name, scale_in):
        qt = codes[name]
        w = torch.from_numpy(qt.codes.astype(np.float32)) * qt.scale
        s = scale_in * qt.scale
        b = torch.clamp(torch.round(getattr(net, name).bias.detach() / s), -2**15, 2**15 - 1) * s
        return op(inp, w, b)

    xq = net.input_quant(x)
    h = net.pool1(net.relu1(layer(lambda i, w, b: F.conv2d(i, w, b, padding=1), xq.value, "conv1", xq.scale)))
    h = net.pool2(net.relu2(layer(lambda i, w, b: F.conv2d(i, w, b, padding=1), h.value, "conv2", h.scale)))
    return layer(F.linear, net.flat(h.value), "fc", h.scale)


def test_codes_are_brevitas_integers_and_a_chip_replaces_them_exactly(tmp_path: Path) -> None:
    net = calibrated(user_cnn(tmp_path).Net())
    clean = model_codes(net)
    assert list(clean) == ["conv1", "conv2", "fc"]
    for name, qt in clean.items():
        qw = getattr(net, name).quant_weight()
        assert qt.codes.dtype == np.int8 and qt.bits == 8 and qt.signed and qt.zero_point == 0.0
        assert np.array_equal(qt.codes, qw.int().numpy()) and qt.scale == float(qw.scale.detach())
    chip = dict(RandomBitErrors(0.05, chip=3).perturb(clean))
    edge = chip["conv2"].codes.copy()
    edge.reshape(-1)[:5] = -128  # beyond Brevitas' narrow range (a flip can store it): kept, not clipped
    chip["conv2"] = chip["conv2"].with_codes(edge)
    x = torch.rand(32, 1, 8, 8)
    with torch.no_grad():
        before = net(x)
        with use_codes(net, chip):
            under = net(x)
            for name in chip:
                assert np.array_equal(getattr(net, name).quant_weight().int().numpy(), chip[name].codes)
        assert torch.equal(net(x), before)  # restored
        assert torch.allclose(under, reference_forward(net, x, chip), rtol=0, atol=1e-5)
        assert torch.allclose(before, reference_forward(net, x, clean), rtol=0, atol=1e-5)
        assert not torch.equal(under, before)


def test_an_attack_and_advbet_flip_the_user_models_own_integers(tmp_path: Path) -> None:
    """The bit-flip attack (and so AdvBET) takes its gradients through the user's own Brevitas
    layers: the budget is spent exactly, the loss rises, and AdvBET trains such a model."""
    from berth.data.datasets import load_digits
    from berth.quant.attack import bit_flip_attack
    from berth.quant.flips import count_flips
    from berth.train.loop import TrainConfig, train

    data = load_digits()
    net = calibrated(user_cnn(tmp_path).Net())
    clean = model_codes(net)
    result = bit_flip_attack(net, data.x_test[:64], data.y_test[:64], 8, iterations=3)
    assert sum(count_flips(clean, result.codes).values()) == result.flips == 8
    assert result.loss[-1] > result.loss[0]
    small = type(data)("small", data.x_train[:128], data.y_train[:128], data.x_test[:32], data.y_test[:32])
    history = train(net, small, TrainConfig(epochs=1, method="advbet", bet_epsilon=4, adv_iterations=1), progress=False)
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"]), history


@pytest.mark.parametrize("quant, kind", [(ShiftedUint8WeightPerTensorFloat, QuantLinear),
                                         (Int8WeightPerChannelFloat, QuantLinear),
                                         (Int8WeightPerTensorFixedPoint, QuantConv1d)])
def test_unsigned_zero_point_and_per_channel_float_scales_are_stored_as_they_are(quant, kind) -> None:
    torch.manual_seed(0)
    layer = kind(12, 5, 3, bias=False, weight_quant=quant) if kind is QuantConv1d else kind(12, 5, bias=False,
                                                                                          weight_quant=quant)
    (qt,) = model_codes(nn.Sequential(layer)).values()
    qw = layer.quant_weight()
    assert np.array_equal(qt.codes, qw.int().numpy()) and qt.signed == bool(qw.signed)
    assert np.array_equal(qt.dequantize(), qw.value.detach().numpy())  # (code - zero point) * scale, bit for bit
    chip = RandomBitErrors(0.1, chip=0).perturb({"0": qt})
    with use_codes(nn.Sequential(layer), chip), torch.no_grad():  # evaluation: no straight-through sum
        assert np.array_equal(layer.quant_weight().int().numpy(), chip["0"].codes)
        assert np.array_equal(layer.quant_weight().value.detach().numpy(), chip["0"].dequantize())


def test_a_model_without_quantized_layers_is_one_line() -> None:
    with pytest.raises(BerthError, match=r"has no quantized weight layers; allowed: Brevitas QuantConv1d"):
        model_codes(nn.Sequential(nn.Linear(4, 2)))


@pytest.mark.hls
@pytest.mark.parametrize("quant, words", [
    (ShiftedUint8WeightPerTensorFloat, "not a power of two"),
    (Int8WeightPerChannelFloat, "one weight scale per output channel"),
])
def test_inexact_brevitas_weights_are_refused_naming_layer_reason_fix(tmp_path: Path, quant, words) -> None:
    from brevitas.nn import QuantIdentity
    from brevitas.quant import Int8ActPerTensorFixedPoint

    from berth.hardware.hls4ml.check import check_modules

    net = nn.Sequential(QuantIdentity(act_quant=Int8ActPerTensorFixedPoint), nn.Flatten(),
                        QuantLinear(16, 3, bias=False, weight_quant=quant))
    net.train()
    net(torch.rand(4, 1, 4, 4))
    with pytest.raises(BerthError, match=rf"layer '2' \(QuantLinear\) exactly: .*{words}.*Int8WeightPerTensorFixedPoint"):
        check_modules(net.eval())


VARIANT = """
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from brevitas.quant import Int8ActPerTensorFixedPoint, Int8Bias, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint
from torch import nn


class Net4(nn.Module):
    def __init__(self, in_channels=1, input_size=8, num_classes=10):
        super().__init__()
        self.input_quant = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.conv = QuantConv2d(in_channels, 4, 3, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4,
                                bias_quant=Int8Bias, return_quant_tensor=True)
        self.relu = QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=4, return_quant_tensor=True)
        self.pool = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc = QuantLinear(4 * ((input_size - 2) // 2) ** 2, num_classes, weight_bit_width=4,
                              weight_quant=Int8WeightPerTensorFixedPoint, bias_quant=Int8Bias)

    def forward(self, x):
        return self.fc(self.flat(self.pool(self.relu(self.conv(self.input_quant(x))))))
"""


@pytest.mark.hls
def test_four_bit_variants_with_an_8_bit_bias_export_exactly(tmp_path: Path) -> None:
    from berth.hardware.hls4ml.chips import inject_chips
    from berth.hardware.hls4ml.export import export_project
    from berth.hardware.hls4ml.verify import verify_project
    from berth.models import create_model

    (tmp_path / "net4.py").write_text(VARIANT)
    model = calibrated(create_model(f"{tmp_path / 'net4.py'}:Net4"))
    assert [qt.bits for qt in model_codes(model).values()] == [4, 4]
    project = export_project(model, tmp_path / "p4")
    assert verify_project(project, n=200).exact_match == 1.0
    (chip,) = inject_chips(project, 0.05, [0], n=100)
    assert chip.flipped_codes > 0 and chip.comparison.exact_match == 1.0


def berth(cwd: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "berth.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    return proc.stdout


SWEEP = """
name = "own"
dataset = "npz"
data_dir = "mine.npz"
models = ["my_cnn.py:Net"]
bits = [8]
seeds = [0]
p = [0.02]
chips = 3
train = { epochs = 1 }
out = "out"

[[errors]]
kind = "random"
"""


@pytest.mark.hls
@pytest.mark.slow
def test_user_cnn_through_eval_sweep_and_hardware_then_its_qonnx_file(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images * 255 / 16).astype(np.uint8)
    np.savez(tmp_path / "mine.npz", x_train=x[:400], y_train=d.target[:400], x_test=x[400:550],
             y_test=d.target[400:550])
    user_cnn(tmp_path)
    out = berth(tmp_path, "eval", "--set", "model=my_cnn.py:Net", "--set", "schemes=[\"fixed\"]", "--set",
                "dataset=npz", "--set", "data_dir=mine.npz", "--set", "epochs=1", "--set", "chips=2", "--set",
                "p=[0.05]", "--set", "out=runs", "--store", "w.sqlite")
    (results,) = tmp_path.glob("runs/eval-*/results.json")
    (row,) = json.loads(results.read_text())["results"]
    assert row["rerr_mean"] > row["clean_error"], out  # the chips hit the user's integer weights

    (tmp_path / "s.toml").write_text(SWEEP)
    berth(tmp_path, "sweep", "s.toml", "--executor", "serial", "--store", "w.sqlite")
    (ckpt,) = tmp_path.glob("out/own/checkpoints/*.pt")
    berth(tmp_path, "hls", "export", str(ckpt), "--out", "prj", "--set", "dataset=npz", "--set",
          f"data_dir={tmp_path / 'mine.npz'}", "--store", "w.sqlite")
    verified = berth(tmp_path, "hls", "verify", "prj")  # by default 200 inputs, or all when fewer
    assert f"on {N} npz test inputs" in verified and "exact match 100.00%" in verified, verified
    injected = berth(tmp_path, "hls", "inject", "prj", "--chip", *CHIPS, "--p", P, "--store", "w.sqlite")
    assert f"p = {P}, {N} inputs" in injected, injected

    from berth.core.store import Store

    with Store(tmp_path / "w.sqlite") as store:
        rows = store.query("hls_inject")
        assert len(store.query("hls_cost")) == 1
        runs = store.query("runs")  # its own quantizers made the codes, not the scheme named in the settings
    assert sorted((r["command"], r["label"], r["scheme"]) for r in runs) == [("eval", "fixed", "brevitas"),
                                                                          ("sweep", "rquant-qat", "brevitas")], runs
    assert sorted(r["chip"] for r in rows) == [0, 1, 2]
    assert all(r["exact_match"] == 1.0 and r["n"] == int(N) and r["flipped_codes"] > 0 for r in rows), rows

    # the same trained model as a QONNX file, exported by Brevitas
    from brevitas.export import export_qonnx

    from berth.cli import main
    from berth.models.files import load_model

    model = load_model(ckpt)
    export_qonnx(model, input_t=torch.zeros(1, 1, 8, 8), export_path=str(tmp_path / "cnn.onnx"), dynamo=False)
    args = ["--set", "dataset=npz", "--set", f"data_dir={tmp_path / 'mine.npz'}", "--store", str(tmp_path / "w.sqlite")]
    assert main(["hls", "export", str(tmp_path / "cnn.onnx"), "--out", str(tmp_path / "qprj"), *args]) == 0
    assert main(["hls", "verify", str(tmp_path / "qprj"), "--n", str(int(N) + 1)]) == 2  # refused up front
    assert main(["hls", "verify", str(tmp_path / "qprj"), "--n", N]) == 0
    assert main(["hls", "inject", str(tmp_path / "qprj"), "--chip", "0", "--p", P, "--n", "50", "--store",
                 str(tmp_path / "w.sqlite")]) == 0
    meta = json.loads((tmp_path / "qprj" / "berth" / "project.json").read_text())
    assert meta["source"] == "qonnx" and list(meta["layers"]) == ["conv1", "conv2", "fc"]


@pytest.mark.hls
def test_a_qonnx_file_with_float_weights_is_one_line(tmp_path: Path) -> None:
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantIdentity
    from brevitas.quant import Int8ActPerTensorFixedPoint

    from berth.hardware.hls4ml.qonnx_in import load_qonnx

    net = nn.Sequential(QuantIdentity(act_quant=Int8ActPerTensorFixedPoint), nn.Conv2d(1, 2, 3))
    net.train()
    net(torch.rand(2, 1, 6, 6))
    export_qonnx(net.eval(), input_t=torch.zeros(1, 1, 6, 6), export_path=str(tmp_path / "f.onnx"), dynamo=False)
    with pytest.raises(BerthError, match=r"f.onnx'.*has float weights .*allowed: weights quantized by a Quant node"):
        load_qonnx(tmp_path / "f.onnx")
    with pytest.raises(BerthError, match="does not exist"):
        load_qonnx(tmp_path / "nope.onnx")


def test_a_factory_without_quantized_layers_is_refused_before_training(tmp_path: Path, capsys) -> None:
    from berth.cli import main

    (tmp_path / "floaty.py").write_text("from torch import nn\n\ndef net(in_channels, input_size, num_classes):\n"
                                        "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size ** 2,"
                                        " num_classes))\n")
    assert main(["eval", "--set", f"model={tmp_path / 'floaty.py'}:net", "--set", f"out={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "model floaty.py:net has no quantized weight layers; allowed: Brevitas" in err


def test_clipping_projects_the_user_models_float_weights(tmp_path: Path) -> None:
    """w_max (the paper's weight clipping) applies to a model with its own Brevitas quantizers as a
    projection of its float weights after every step; without one its weights are left as they are."""
    from berth.models import create_model
    from berth.train.loop import clip_weights

    path = f"{user_cnn(tmp_path).__file__}:Net"
    for w_max in (0.05, None):
        net = create_model(path, w_max=w_max)
        before = {n: m.weight.detach().clone() for n, m in net.named_modules() if hasattr(m, "weight_quant")}
        clip_weights(net)
        for name, w in before.items():
            after = getattr(net, name).weight
            assert torch.equal(after, w.clamp(-w_max, w_max) if w_max else w), name
        assert w_max is None or max(float(w.abs().max()) for w in before.values()) > w_max  # something was clipped


def test_berths_bits_and_schemes_that_cannot_change_a_user_models_codes_are_refused(tmp_path: Path, capsys) -> None:
    """Its own quantizers fix the code width: another ``bits``, or several schemes (the same
    training twice), is one line naming the setting and the model's width, before any training."""
    from berth.cli import main

    user_cnn(tmp_path)
    model = f"model={tmp_path / 'my_cnn.py'}:Net"
    assert main(["train", "--set", model, "--set", "bits=4", "--set", f"out={tmp_path}"]) == 2
    assert "bits = 4 is not allowed; allowed: 8 (model" in capsys.readouterr().err
    assert main(["eval", "--set", model, "--set", f"out={tmp_path}"]) == 2  # default schemes: normal, rquant
    assert "schemes = ['normal', 'rquant'] is not allowed; allowed: one scheme" in capsys.readouterr().err
    (tmp_path / "s.toml").write_text(f'models = ["{tmp_path / "my_cnn.py"}:Net"]\nbits = [8, 4]\nout = "{tmp_path}"\n')
    assert main(["sweep", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bits = [8, 4] is not allowed; allowed: [8] (model '" in err
    assert not list(tmp_path.glob("train-*")) and not list(tmp_path.glob("eval-*"))


def test_berth_train_clips_a_user_model_only_when_asked(tmp_path: Path, capsys) -> None:
    """Unset, w_max leaves a user's model unclipped (berth's 0.1 is for berth's schemes); set, the
    trained weights lie within it."""
    from berth.cli import main
    from berth.models.files import load_model

    user_cnn(tmp_path)
    args = ["train", "--set", f"model={tmp_path / 'my_cnn.py'}:Net", "--set", "train.epochs=1", "--set", "chips=0",
            "--set", f"out={tmp_path}", "--store", str(tmp_path / "s.sqlite")]
    for w_max in (None, 0.02):
        assert main(args + (["--set", f"w_max={w_max}"] if w_max else [])) == 0
        assert f"(its own Brevitas quantizers, 8-bit codes, w_max={w_max})" in capsys.readouterr().out
        (run,) = [d for d in tmp_path.glob("train-*") if json.loads((d / "config.json").read_text())["w_max"] == w_max]
        net = load_model(run / "checkpoint.pt")
        widest = max(float(m.weight.abs().max()) for m in (net.conv1, net.conv2, net.fc))
        assert (widest <= w_max) if w_max else (widest > 0.02)
    from berth.core.store import Store

    with Store(tmp_path / "s.sqlite") as store:
        assert [r["scheme"] for r in store.query("runs")] == ["brevitas", "brevitas"]
