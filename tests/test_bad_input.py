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
