"""``berth train``: a run directory end to end, and bad input refused before training starts."""

import json

import pytest

from berth.models.files import load_model
from berth.cli import main

TINY = ["--set", "model='mlp'", "--set", "arch={hidden=[16]}", "--set", "train.epochs=1", "--set", "chips=2",
        "--set", "p=[0.01]"]


def test_train_writes_a_run_directory(tmp_path, capsys):
    assert main(["train", *TINY, "--set", "train.method='randbet'", "--set", f"out='{tmp_path}'"]) == 0
    (run,) = tmp_path.glob("train-*")
    assert {p.name for p in run.iterdir()} == {"config.json", "checkpoint.pt", "metrics.jsonl", "results.json"}
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["method"] == "randbet" and config["arch"] == {"hidden": [16]}
    record = json.loads((run / "results.json").read_text())
    assert len(record["history"]) == 1 and record["robustness"][0]["p"] == 0.01
    model = load_model(run / "checkpoint.pt")
    assert model.berth_config["name"] == "mlp" and model.berth_config["w_max"] == 0.1
    assert "RErr" in capsys.readouterr().out
    assert main(["train", "--resume", str(run)]) == 0  # complete: nothing left to train


@pytest.mark.parametrize("override, fragment", [
    ("train.method='sgd'", "unknown training method 'sgd'"),
    ("train.bet_p=1.5", "bet_p = 1.5 is outside the allowed range [0.0, 1.0]"),
    ("train.bet_epsilon=-3", "bet_epsilon = -3 must be an integer >= 0"),
    ("w_max=0", "w_max = 0.0 must be > 0"),
    ("w_max=-0.1", "w_max = -0.1 must be > 0"),
    ("dataset='mnist'", "MNIST needs a data directory"),
    ("train.epoch=3", "unknown key 'epoch'"),
])
def test_bad_input_fails_before_training(tmp_path, capsys, override, fragment):
    assert main(["train", *TINY, "--set", override, "--set", f"out='{tmp_path}'"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert not list(tmp_path.glob("train-*"))


def test_missing_data_directory_says_what_to_put_where(tmp_path, capsys):
    assert main(["train", *TINY, "--set", "dataset='cifar10'", "--set", f"data_dir='{tmp_path / 'c10'}'",
                 "--set", f"out='{tmp_path}'"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "c10") in err and "data_batch_1 .. data_batch_5 and test_batch" in err


def test_resume_refuses_extra_settings_and_foreign_directories(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--set", "train.epochs=3"]) == 2
    assert "drop --config/--set" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
