"""``berth profile`` and ``berth search`` from the command line: errors, store rows, the demo's steps."""

import pytest
import torch

from berth.cli import main
from berth.hardware.latency.tables import open_store

QUICK = ["--repeats", "5", "--warmup", "0", "--block-ms", "0.5"]


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("berth: error:") and "\n" not in err
    return err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu(capsys, tmp_path):
    assert "'cuda'" in one_line_error(capsys, ["profile", "lenet", "--device", "cuda"])
    assert "'cuda'" in one_line_error(capsys, ["search", "--device", "cuda", "--store", str(tmp_path / "s.sqlite")])


def test_unknown_dtype_model_and_missing_model(capsys, tmp_path):
    store = ["--store", str(tmp_path / "s.sqlite")]
    assert "'fp8'" in one_line_error(capsys, ["profile", "lenet", "--dtype", "fp8", *store])
    assert "'vgg'" in one_line_error(capsys, ["profile", "vgg", *QUICK, *store])
    assert "MODEL" in one_line_error(capsys, ["profile", *store])


def test_profile_writes_labelled_rows_and_layer_table(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    argv = ["profile", "lenet", "--batch", "1", "--variant", "simulation", "float", "--layers", *QUICK, "--store", str(store)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "NOT deployable" in out and "per-layer table" in out and "predicted (sum of table entries" in out
    with open_store(store) as s:
        rows = s.query("latency")
        assert {(r["variant"], r["deployable"]) for r in rows} == {("simulation", 0), ("float", 1)}
        assert len(s.query("latency_layers")) == 11 and len(s.query("layer_latency")) >= 9


def test_profile_runs_skips_unbuildable_checkpoints(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    with open_store(store) as s:
        s.add_run({"run_id": "r1", "sweep": "t", "label": "x", "model": "lenet", "bits": 8, "checkpoint": "/nowhere.pt"})
        s.add_run({"run_id": "r2", "sweep": "", "label": "rquant", "model": "lenet", "bits": 8, "checkpoint": None})
    assert main(["profile", "--runs", "--store", str(store), *QUICK]) == 2
    out = capsys.readouterr()
    assert "no run in the store" in out.err
    assert "skipping run r2 (rquant): no model file was kept (a berth eval run)" in out.out


@pytest.mark.parametrize("argv, message", [
    (["lenet", "--batch", "100000"], "batch size = 100000 is outside the allowed range [1, 65536]"),
    (["lenet", "--warmup", "-1"], "warm-up seconds = -1.0 is outside the allowed range"),
    (["lenet", "--block-ms", "0"], "block = 0 ms is not allowed; allowed: > 0"),
    (["--runs", "--bits", "4"], "--bits is not allowed with --runs"),
    (["{file}", "--input-size", "16"], "--input-size is not allowed with the model file"),
])
def test_settings_that_cannot_apply_are_refused_before_measuring(argv, message, tmp_path, capsys):
    (tmp_path / "m.onnx").write_bytes(b"")
    argv = [a.format(file=tmp_path / "m.onnx") for a in argv]
    assert message in one_line_error(capsys, ["profile", *argv, "--store", str(tmp_path / "s.sqlite")])


@pytest.fixture
def small_digits(monkeypatch):
    """``load_dataset`` cut to 160 training and 60 test digits (the demo's steps, fast)."""
    import berth.data.datasets

    real = berth.data.datasets.load_dataset

    def small(name, seed=0, **kw):
        d = real(name, seed=seed, **kw)
        return berth.data.datasets.Dataset(d.name, d.x_train[:160], d.y_train[:160], d.x_test[:60], d.y_test[:60])

    monkeypatch.setattr(berth.data.datasets, "load_dataset", small)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_search_times_on_the_gpu(tmp_path, capsys, small_digits):
    store = tmp_path / "s.sqlite"
    argv = ["search", "--device", "cuda", "--candidates", "3", "--shortlist", "1", "--calibration-models", "3",
            "--epochs", "1", "--chips", "2", "--latency-budget", "1000", "--repeats", "5", "--store", str(store),
            "--out", str(tmp_path / "ckpt")]
    assert main(argv) == 0
    assert "CUDA events" in capsys.readouterr().out
    with open_store(store) as s:
        assert {r["device"] for r in s.query("layer_latency")} == {"cuda:0"}
        assert {r["timer"] for r in s.query("latency")} == {"cuda-events"}


def test_search_end_to_end_on_a_small_subset(tmp_path, capsys, small_digits):
    store = tmp_path / "s.sqlite"
    argv = ["search", "--candidates", "3", "--shortlist", "1", "--calibration-models", "3", "--epochs", "1", "--chips", "2", "--latency-budget",
            "1000", "--repeats", "5", "--store", str(store), "--out", str(tmp_path / "ckpt")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for step in range(1, 7):
        assert f"step {step}:" in out
    with open_store(store) as s:
        run = s.query("runs")[0]
        assert run["method"] == "randbet" and run["model"] == "genet"
        assert run["command"] == "search" and run["label"] == "search"  # never mistaken for a sweep's RandBET
        assert {r["variant"] for r in s.query("latency", {"run_id": run["run_id"]})} == {"simulation", "float"}
    assert main(["select", "--latency-budget", "1000", "--p", "0.01", "--store", str(store)]) == 0
    assert run["run_id"] in capsys.readouterr().out
    assert main(["profile", run["checkpoint"], "--batch", "1", "--variant", "float", *QUICK, "--store", str(store)]) == 0
    assert "genet (input 1x8x8)" in capsys.readouterr().out
    err = one_line_error(capsys, ["search", "--latency-budget", "0.000001", "--candidates", "2", "--shortlist", "1", "--store", str(store)])
    assert "budget 1e-06 ms" in err and "fastest predicted" in err


@pytest.mark.hls
@pytest.mark.slow
def test_search_winner_built_for_hardware_exports_bit_exactly(tmp_path, capsys, small_digits):
    """``berth search --hw`` -> the winner's model file -> ``berth hls export`` -> ``verify``: exact."""
    store = tmp_path / "s.sqlite"
    argv = ["search", "--hw", "--candidates", "3", "--shortlist", "1", "--calibration-models", "3", "--epochs", "1",
            "--chips", "2", "--latency-budget", "1000", "--repeats", "5", "--store", str(store),
            "--out", str(tmp_path / "ckpt")]
    assert main(argv) == 0
    assert "berth hls export" in capsys.readouterr().out
    with open_store(store) as s:
        run = s.query("runs")[0]
    assert run["model"] == "genet" and run["scheme"] == "fixed"
    project = tmp_path / "prj"
    assert main(["hls", "export", run["checkpoint"], "--out", str(project)]) == 0
    assert main(["hls", "verify", str(project), "--n", "60"]) == 0
    assert "exact match 100.00%" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--threads", "99999"], "threads = 99999 is not allowed; allowed: integers 1.."),
    (["--epochs", "-1"], "epochs = -1 is not allowed; allowed: integers 0..10000"),
    (["--candidates", "99999999999999999999"], "candidates = 99999999999999999999 is not allowed"),
    (["--out", "{file}"], "{file}"),
])
def test_search_refuses_bad_settings_before_any_work(argv, message, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    argv = [a.format(file=tmp_path / "a_file") for a in argv]
    err = one_line_error(capsys, ["search", *argv, "--store", str(tmp_path / "s.sqlite")])
    assert message.format(file=tmp_path / "a_file") in err and "step 1" not in capsys.readouterr().out
    assert not (tmp_path / "s.sqlite").exists()


def test_search_refuses_a_shortlist_longer_than_its_candidates(tmp_path, capsys):
    err = one_line_error(capsys, ["search", "--candidates", "2", "--shortlist", "5", "--store", str(tmp_path / "s.sqlite")])
    assert "shortlist = 5 is not allowed; allowed: 1..2" in err
