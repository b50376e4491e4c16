"""Checkpoints: round trip, refusal of corrupt/truncated/foreign/malicious files, and resume after SIGKILL."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch

from berth.models.files import load_model
from berth.train.checkpoint import load_checkpoint, save_checkpoint
from berth.core.errors import BerthError
from berth.models import create_model
from berth.quant.evaluate import predict


def small_model():
    return create_model("lenet", scheme="rquant", bits=6, w_max=0.2, channels=(4, 8), hidden=16, seed=0)


def test_round_trip_rebuilds_the_same_model(tmp_path):
    model = small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(3)
    path = save_checkpoint(tmp_path / "c.pt", model, opt, None, epoch=2, seed=7, config={"lr": 0.1},
                           generator=gen, metrics=[{"epoch": 1}])
    state = load_checkpoint(path)
    assert state["epoch"] == 2 and state["seed"] == 7 and state["config"] == {"lr": 0.1}
    assert state["schemes"]["conv1"]["bits"] == 6 and state["schemes"]["conv1"]["w_max"] == 0.2
    assert torch.equal(state["rng"]["data"], gen.get_state())
    rebuilt = load_model(path)
    x = torch.rand(20, 1, 8, 8)
    assert (predict(rebuilt, x) == predict(model, x)).all()
    for key, value in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temp file


def one_line_error(path, *fragments):
    with pytest.raises(BerthError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_corrupt_truncated_and_foreign_files_are_refused(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", small_model())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    one_line_error(truncated, "corrupt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(4096))
    one_line_error(garbage, "corrupt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": small_model().state_dict()}, foreign)
    one_line_error(foreign, "not a berth checkpoint")
    one_line_error(tmp_path / "missing.pt", "does not exist")


class _Payload:
    """A pickle that would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_pickle_is_never_executed(tmp_path):
    sentinel = tmp_path / "pwned"
    for name, write in (("raw.pt", lambda f: pickle.dump(_Payload(str(sentinel)), f)),
                        ("zip.pt", lambda f: torch.save({"format": "berth-checkpoint", "x": _Payload(str(sentinel))}, f))):
        path = tmp_path / name
        with path.open("wb") as f:
            write(f)
        one_line_error(path, "corrupt")
    assert not sentinel.exists()


def berth(*args, env):
    return subprocess.Popen([sys.executable, "-m", "berth.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def final_state(run_dir):
    state = load_checkpoint(run_dir / "checkpoint.pt")
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return state, [{k: v for k, v in m.items() if k != "seconds"} for m in lines]


@pytest.mark.slow
def test_resume_after_sigkill_reaches_the_same_weights(tmp_path):
    """A RandBET run killed with SIGKILL and resumed ends bit-identical to an uninterrupted run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    settings = ["--set", "model='mlp'", "--set", "arch={hidden=[32]}", "--set", "train.epochs=6",
                "--set", "train.method='randbet'", "--set", "train.bet_p=0.02", "--set", "chips=0"]
    whole = berth("train", *settings, "--set", f"out='{tmp_path / 'whole'}'", env=env)
    killed = berth("train", *settings, "--set", f"out='{tmp_path / 'killed'}'", env=env)
    deadline = time.time() + 120
    metrics = None
    while time.time() < deadline and killed.poll() is None:
        metrics = next((tmp_path / "killed").glob("train-*/metrics.jsonl"), None)
        if metrics is not None and metrics.read_text().strip():
            break
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    run_dir = metrics.parent
    done = len(metrics.read_text().splitlines())
    assert 1 <= done < 6
    resumed = berth("train", "--resume", str(run_dir), env=env)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    (whole_dir,) = (tmp_path / "whole").glob("train-*")
    a, metrics_a = final_state(whole_dir)
    b, metrics_b = final_state(run_dir)
    assert a["epoch"] == b["epoch"] == 6
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert metrics_a == metrics_b


def test_load_model_reads_every_layout(tmp_path):
    """Training checkpoints, model files and the older sweep layout rebuild the same model."""
    from berth.models.files import load_model, model_bytes
    from berth.train.checkpoint import save_checkpoint
    from berth.models import create_model

    model = create_model("lenet", scheme="fixed", bits=4, hw=True, act_bits=8, seed=3)
    model.train()(torch.rand(8, 1, 8, 8))  # Brevitas sets activation scales on the first training pass
    model.eval()
    x = torch.rand(2, 1, 8, 8)
    save_checkpoint(tmp_path / "ckpt.pt", model)
    (tmp_path / "sweep.pt").write_bytes(model_bytes(model))
    torch.save({"berth_config": dict(model.berth_config), "state_dict": model.state_dict()}, tmp_path / "old.pt")
    for name in ("ckpt.pt", "sweep.pt", "old.pt"):
        rebuilt = load_model(tmp_path / name)
        assert torch.equal(rebuilt(x), model(x)), name
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(BerthError, match="junk.pt"):
        load_model(tmp_path / "junk.pt")


def test_a_model_file_keeps_the_scheme_definition_it_was_written_with(tmp_path):
    """A file written before the presets followed the reference (no ``grid`` in its stored
    schemes: the affine grid) rebuilds with that definition, not today's preset of the same name."""
    import io

    from berth.models.files import model_state
    from berth.quant.brevitas_quant import scheme_quantizers

    model = create_model("lenet", scheme="rquant", bits=4, seed=1)
    state = model_state(model)
    state["schemes"] = {k: {kk: v for kk, v in table.items() if kk != "grid"} for k, table in state["schemes"].items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    old = load_model(buf.getvalue())
    assert {q.scheme.grid for q in scheme_quantizers(old).values()} == {"affine"}
    buf = io.BytesIO()
    torch.save(model_state(model), buf)
    assert {q.scheme.grid for q in scheme_quantizers(load_model(buf.getvalue())).values()} == {"stutz"}
