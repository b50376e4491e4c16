"""Bad input gets a one-line error naming the value and what is allowed."""

import subprocess
import sys

import pytest

from berth.core.errors import BerthError
from berth.models import create_model
from berth.quant.faults import RandomBitErrors, StuckAtErrors
from berth.quant.scheme import get_scheme

CASES = [
    (lambda: RandomBitErrors(1.5), "1.5", "[0.0, 1.0]"),
    (lambda: RandomBitErrors(-0.1), "-0.1", "[0.0, 1.0]"),
    (lambda: RandomBitErrors(0.1, p10=2.0), "2.0", "[0.0, 1.0]"),
    (lambda: StuckAtErrors(0.1, value=2), "2", "allowed"),
    (lambda: get_scheme("normal", bits=1), "bits = 1", "2..16"),
    (lambda: get_scheme("normal", bits=17), "bits = 17", "2..16"),
    (lambda: get_scheme("nonsense"), "'nonsense'", "normal, rquant"),
    (lambda: get_scheme("normal", w_max=-1.0), "w_max = -1.0", "> 0"),
    (lambda: create_model("vgg99"), "'vgg99'", "lenet"),
    (lambda: create_model("mlp", depth=3), "'depth'", "hidden"),
    (lambda: create_model("mlp", layer_schemes={"nope": "rquant"}), "nope", "layers"),
    (lambda: RandomBitErrors(0.1, bits="middle"), "'middle'", "msb"),
    (lambda: RandomBitErrors(0.1, protect=(9,)).perturb(
        {"w": __import__("tests.conftest", fromlist=["x"]).make_qtensor(4, 8, True)}), "9", "0..7"),
]


@pytest.mark.parametrize("make,value,allowed", CASES)
def test_one_line_error_names_value_and_allowed(make, value, allowed):
    with pytest.raises(BerthError) as exc:
        make()
    message = str(exc.value)
    assert "\n" not in message and value in message and allowed in message


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "berth.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_prints_one_line_and_exits_2():
    res = run_cli("eval", "--set", "p=[0.01, 1.5]")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berth: error:") and "1.5" in lines[0]


def test_cli_unknown_config_key(tmp_path):
    cfg = tmp_path / "eval.toml"
    cfg.write_text("chipz = 3\n")
    res = run_cli("eval", "--config", str(cfg))
    assert res.returncode == 2 and "chipz" in res.stderr and "chips" in res.stderr and str(cfg) in res.stderr


FAILS_ON_DATA = '''
from brevitas.nn import QuantLinear
from brevitas.quant import Int8WeightPerTensorFixedPoint
from torch import nn

class Net(nn.Module):  # 63 inputs where the data's images have 64 pixels
    def __init__(self, in_channels=1, input_size=8, num_classes=10):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc = QuantLinear(63, num_classes, weight_quant=Int8WeightPerTensorFixedPoint, bias=False)

    def forward(self, x):
        return self.fc(self.flat(x))
'''


@pytest.mark.parametrize("argv", [
    ["train", "--set", "model={net}", "--set", "train.epochs=1", "--set", "out={out}"],
    ["eval", "--set", "model={net}", "--set", "epochs=1", "--set", "out={out}"],
    ["sweep", "{sweep}"],
])
def test_a_model_that_fails_on_the_data_is_one_line_before_any_work(argv, tmp_path, capsys):
    from berth.cli import main

    (tmp_path / "bad.py").write_text(FAILS_ON_DATA)
    net = f"{tmp_path / 'bad.py'}:Net"
    (tmp_path / "s.toml").write_text(f'models = ["{net}"]\nout = "{tmp_path / "out"}"\n')
    argv = [a.format(net=net, out=tmp_path / "out", sweep=tmp_path / "s.toml") for a in argv]
    assert main([*argv, "--store", str(tmp_path / "w.sqlite")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "fails on the digits data's (C, H, W) = (1, 8, 8) images: RuntimeError: mat1" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "w.sqlite").exists()


@pytest.mark.parametrize("argv, message", [
    (["eval", "--set", "seed=99999999999999999999"], "seed = 99999999999999999999 is not allowed; allowed: "
                                                     "integers 0..4294967295"),
    (["train", "--set", "train.seed=99999999999999999999"], "allowed: integers 0..4294967295"),
    (["eval", "--set", "chips=99999999999999999999"], "allowed: integers 1..100000"),
    (["eval", "--set", "p=[]"], "p = [] is not allowed; allowed: a non-empty list"),
    (["eval", "--set", "schemes=[]"], "schemes = [] is not allowed; allowed: a non-empty list"),
    (["sweep", "--set", "seeds=[-1]"], "seeds[0] = -1"),
    (["sweep", "--set", "data_seed=-1"], "data_seed = -1"),
    (["hls", "inject", "prj", "--chip", "99999999999999999999", "--p", "0.01"], "allowed: integers 0..4294967295"),
    (["train", "--set", "act_bits=0"], "--set act_bits=0: act_bits = 0 is not allowed"),  # named by its flag
    (["train", "--set", "w_max=-1"], "--set w_max=-1: w_max = -1.0 must be > 0"),
    (["eval", "--set", "schemes=['bogus']"], "--set schemes=['bogus']: unknown quantization scheme 'bogus'"),
])
def test_numbers_out_of_range_are_one_line(argv, message, tmp_path, capsys, monkeypatch):
    from berth.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main([*argv])
    except SystemExit as exc:  # argparse's own: usage line, then the error
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and message in err, err
    assert not list(tmp_path.iterdir())
