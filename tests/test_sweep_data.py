"""A sweep on a data set read from files: ``data_dir`` (relative to the sweep file) reaches every task."""

import sqlite3

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.core.store import Store
from berth.flows.driver import Driver
from berth.flows.executors import SerialExecutor
from berth.flows.sweep import load_sweep, plan

SWEEP = """
name = "idx"
dataset = "mnist"
{data_dir}
models = ["mlp"]
model_options = {{ hidden = [8] }}
bits = [4]
seeds = [0]
p = [0.05]
chips = 2
train = {{ epochs = 1 }}
out = "out"

[[errors]]
kind = "random"
parameters = "all"
addressing = "position"
"""


def write_idx(path, array: np.ndarray) -> None:
    """An unsigned-byte IDX file (the MNIST format)."""
    magic = (2051 if array.ndim == 3 else 2049).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(magic + dims + array.astype(np.uint8).tobytes())


def tiny_mnist(folder) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)


def test_a_sweep_reads_its_data_dir_relative_to_the_sweep_file(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "data")
    (tmp_path / "idx.toml").write_text(SWEEP.format(data_dir='data_dir = "data"'))
    monkeypatch.chdir(tmp_path)
    sweep, _ = load_sweep(tmp_path / "idx.toml")
    assert sweep.data_dir == str((tmp_path / "data").resolve())
    assert all(run["data_dir"] == sweep.data_dir for run in plan(sweep))
    with Store(tmp_path / "results.sqlite") as store:
        Driver(sweep, store, SerialExecutor(), progress=False).run()
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM robustness").fetchone()[0] == 2


@pytest.mark.parametrize("setting, words", [("", ["data_dir", "mnist"]), ('data_dir = "nowhere"', ["nowhere"])])
def test_a_missing_data_dir_is_named(tmp_path, setting, words):
    (tmp_path / "idx.toml").write_text(SWEEP.format(data_dir=setting))
    with pytest.raises(BerthError) as exc:
        load_sweep(tmp_path / "idx.toml")
    assert all(w in str(exc.value) for w in words) and "\n" not in str(exc.value)


def test_data_or_a_model_file_edited_in_place_is_a_new_run(tmp_path, monkeypatch):
    """The run id hashes the data files' and the model file's content: after an edit a sweep
    trains again instead of finding the old results stored."""
    tiny_mnist(tmp_path / "data")
    (tmp_path / "nets.py").write_text("from berth.models.zoo import MLP as Net\n")
    sweep_file = tmp_path / "idx.toml"
    sweep_file.write_text(SWEEP.format(data_dir='data_dir = "data"').replace('["mlp"]', '["nets.py:Net"]'))
    monkeypatch.chdir(tmp_path)
    ids = lambda: {run["run_id"] for run in plan(load_sweep(sweep_file)[0])}  # noqa: E731
    first = ids()
    (run,) = plan(load_sweep(sweep_file)[0])
    assert set(run["data_files"]) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                      "t10k-labels-idx1-ubyte"} and len(run["model_sha256"]) == 64
    write_idx(tmp_path / "data" / "t10k-labels-idx1-ubyte", (np.arange(20) + 1) % 10)
    second = ids()
    (tmp_path / "nets.py").write_text("from berth.models.zoo import MLP as Net  # edited\n")
    assert len({*first, *second, *ids()}) == 3
