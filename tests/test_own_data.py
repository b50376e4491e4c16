"""The user's own data: an .npz file or class folders of images, checked before anything trains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from berth.core.errors import BerthError
from berth.data.datasets import load_dataset


def digits_arrays(n_train: int = 300, n_test: int = 100) -> dict[str, np.ndarray]:
    """Real data in the user's layout: scikit-learn's digits as uint8 (N, 8, 8)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images * 255 / 16).astype(np.uint8)
    return {"x_train": x[:n_train], "y_train": d.target[:n_train], "x_test": x[n_train:n_train + n_test],
            "y_test": d.target[n_train:n_train + n_test]}


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    path = tmp_path / "mine.npz"
    np.savez(path, **digits_arrays())
    return path


def test_npz_loads_scaled_with_its_identity(npz: Path) -> None:
    data = load_dataset("npz", data_dir=npz)
    assert data.shape == (1, 8, 8) and data.num_classes == 10 and len(data.y_test) == 100
    assert float(data.x_train.max()) <= 1.0 and data.x_train.dtype.is_floating_point
    assert data.identity["files"]["mine.npz"] == __import__("hashlib").sha256(npz.read_bytes()).hexdigest()
    assert (data.identity["train"], data.identity["test"], data.identity["classes"]) == (300, 100, 10)


def test_image_folders_load_like_the_arrays(tmp_path: Path) -> None:
    arrays = digits_arrays(60, 20)
    for part in ("train", "test"):
        for i, (img, label) in enumerate(zip(arrays[f"x_{part}"], arrays[f"y_{part}"])):
            folder = tmp_path / "imgs" / part / f"c{label}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i}.png")
    data = load_dataset("images", data_dir=tmp_path / "imgs")
    assert data.shape == (1, 8, 8) and len(data.y_train) == 60 and len(data.y_test) == 20
    first = arrays["x_train"][arrays["y_train"] == 0][0]
    assert np.allclose(data.x_train[0, 0].numpy(), first / 255.0)
    (tmp_path / "imgs" / "train" / "c99").mkdir()  # a class folder without images would vanish from the labels
    with pytest.raises(BerthError, match="train/c99' holds no PNG or JPEG images; every class needs training"):
        load_dataset("images", data_dir=tmp_path / "imgs")


def test_a_file_that_is_no_npz_archive_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.npz").write_text("x_train, y_train\n")
    with pytest.raises(BerthError, match="'.*notes.npz' is not an .npz file \\(not a zip archive\\)"):
        load_dataset("npz", data_dir=tmp_path / "notes.npz")


BAD = [
    (lambda a: {**a, "y_train": a["y_train"][:-1]}, ["300 images", "299 labels"]),
    (lambda a: {k: v for k, v in a.items() if k != "y_test"}, ["lacks y_test"]),
    (lambda a: {**a, "x_train": a["x_train"].astype(np.float32)}, ["outside [0, 1]"]),
    (lambda a: {**a, "x_train": a["x_train"][:, :, :6]}, ["(300, 8, 6)", "H = W"]),
    (lambda a: {**a, "y_test": a["y_test"] + 10}, ["not a training class"]),
]


@pytest.mark.parametrize("spoil, words", BAD)
def test_bad_npz_is_one_line_naming_the_problem(tmp_path: Path, spoil, words) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **spoil(digits_arrays()))
    with pytest.raises(BerthError) as exc:
        load_dataset("npz", data_dir=path)
    assert "\n" not in str(exc.value) and all(w in str(exc.value) for w in words), str(exc.value)


def test_eval_on_own_data_records_its_identity(tmp_path: Path, npz: Path) -> None:
    args = ["eval", "--set", "dataset=npz", "--set", f"data_dir={npz}", "--set", "epochs=1", "--set", "chips=2",
            "--set", "p=[0.01]", "--set", "schemes=[\"rquant\"]", "--set", "model=mlp", "--set", f"out={tmp_path}",
            "--store", str(tmp_path / "w.sqlite")]
    proc = subprocess.run([sys.executable, "-m", "berth.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (results,) = tmp_path.glob("eval-*/results.json")
    record = json.loads(results.read_text())
    assert record["data"]["name"] == "npz" and "mine.npz" in record["data"]["files"]
    import berth.results

    runs = berth.results.load(tmp_path / "w.sqlite", "runs")
    assert list(runs["command"]) == ["eval"] and list(runs["label"]) == ["rquant"]
    assert len(berth.results.load(tmp_path / "w.sqlite")) == 2  # one p x two chips


def test_a_missing_data_dir_fails_before_training(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "berth.cli", "eval", "--set", "dataset=npz", "--set",
                           f"data_dir={tmp_path / 'nope.npz'}", "--set", f"out={tmp_path}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "nope.npz" in proc.stderr and "does not exist" in proc.stderr
    assert "training" not in proc.stdout


USER_MODEL = '''
from torch import nn


class Tiny(nn.Module):
    """A user's model written on berth's QuantSpec (its layers take berth's schemes)."""

    def __init__(self, spec, in_channels, input_size, num_classes, width: int = 16):
        super().__init__()
        self.flat = nn.Flatten()
        self.l1 = spec.linear("l1", in_channels * input_size * input_size, width)
        self.act = spec.relu()
        self.l2 = spec.linear("l2", width, num_classes)

    def forward(self, x):
        return self.l2(self.act(self.l1(self.flat(x))))


def broken(width=3):
    raise ValueError("width must be even")
'''


def test_own_model_by_file_path_trains_and_reloads_elsewhere(tmp_path: Path, npz: Path) -> None:
    """A model in the user's file, trained on the user's data; its model file rebuilds it in a new
    process started from another folder."""
    (tmp_path / "mynets.py").write_text(USER_MODEL)
    args = ["train", "--set", "model=mynets.py:Tiny", "--set", "arch={width = 8}", "--set", "dataset=npz",
            "--set", f"data_dir={npz}", "--set", "train.epochs=1", "--set", "chips=2", "--set", "p=[0.01]",
            "--set", "out=runs", "--store", "w.sqlite"]
    proc = subprocess.run([sys.executable, "-m", "berth.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    (ckpt,) = tmp_path.glob("runs/train-*/checkpoint.pt")
    probe = ("import sys; from berth.models.files import load_model; m = load_model(sys.argv[1]); "
             "print(type(m).__name__, m.berth_config['name'])")
    out = subprocess.run([sys.executable, "-c", probe, str(ckpt)], cwd="/", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Tiny", f"{tmp_path / 'mynets.py'}:Tiny"]
    import berth.results

    (run,) = berth.results.load(tmp_path / "w.sqlite", "runs").to_dict("records")
    assert run["command"] == "train" and run["checkpoint"] == str(ckpt.resolve())


@pytest.mark.parametrize("model, words", [
    ("mynets.py:Nope", ["has no callable 'Nope'"]),
    ("no_such_pkg.nets:make", ["cannot import module 'no_such_pkg.nets'"]),
    ("mynets.py:broken", ["width=3", "ValueError: width must be even"]),
])
def test_bad_own_model_is_one_line(tmp_path: Path, model: str, words: list[str]) -> None:
    from berth.models import create_model

    (tmp_path / "mynets.py").write_text(USER_MODEL)
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(BerthError) as exc:
            create_model(model, **({"width": 3} if "broken" in model else {}))
    finally:
        os.chdir(here)
    assert "\n" not in str(exc.value) and all(w in str(exc.value) for w in words), str(exc.value)


def test_a_sweep_names_the_model_file_beside_it(tmp_path: Path, monkeypatch, capsys) -> None:
    """Model paths are read from the current folder: one that lies beside the sweep file instead is
    named in the error, as the path that would find it."""
    from berth.cli import main

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mynets.py").write_text(USER_MODEL)
    (tmp_path / "sub" / "s.toml").write_text('models = ["mynets.py:Tiny"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "sub/s.toml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("(model paths are relative to the current folder, not to the sweep file; the file beside "
                        "the sweep is 'sub/mynets.py:Tiny')"), err


def test_a_hardware_build_without_an_input_quantizer_is_refused_before_training(tmp_path: Path, capsys,
                                                                                monkeypatch) -> None:
    """``hw = true`` promises a model ``berth hls export`` takes; one whose inputs never pass a
    quantizer cannot be, whatever its weights: one line naming the fix, nothing written."""
    from berth.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mynets.py").write_text(USER_MODEL)
    argv = ["train", "--set", "model=mynets.py:Tiny", "--set", "scheme=fixed", "--set", "hw=true", "--set",
            "act_bits=8", "--set", "train.epochs=1", "--set", "out=out", "--store", "w.sqlite"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "has no input quantizer" in err and "self.input_quant = spec.input_quant()" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "w.sqlite").exists()
