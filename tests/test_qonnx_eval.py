"""A QONNX file in ``berth eval``, ``hls export`` and ``berth select``: measured as it is (qonnx
executes it with each chip's flips in its weight initializers), chip for chip the Brevitas model it
was exported from, and stored as a run that joins the HLS cost of the same file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from test_own_brevitas import user_cnn

P, CHIPS = [0.02, 0.05], 3


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """The user's CNN trained two epochs on digits, and its Brevitas QONNX export."""
    from brevitas.export import export_qonnx

    from berth.data.datasets import load_dataset
    from berth.models import model_for_data
    from berth.train.loop import TrainConfig, train

    folder = tmp_path_factory.mktemp("qonnx")
    user_cnn(folder)
    data = load_dataset("digits")
    model = model_for_data(f"{folder / 'my_cnn.py'}:Net", data)
    train(model, data, TrainConfig(epochs=2, seed=0))
    export_qonnx(model.eval(), input_t=torch.zeros(1, 1, 8, 8), export_path=str(folder / "cnn.onnx"), dynamo=False)
    return folder / "cnn.onnx", model


def test_eval_of_a_qonnx_file_equals_its_brevitas_model_chip_for_chip(exported, tmp_path: Path, capsys) -> None:
    from berth.cli import main
    from berth.core.store import Store
    from berth.data.datasets import load_dataset
    from berth.quant.evaluate import robust_error
    from berth.quant.faults import RandomBitErrors

    onnx, model = exported
    store = tmp_path / "w.sqlite"
    argv = ["eval", "--set", f"model={onnx}", "--set", f"p={P}", "--set", f"chips={CHIPS}", "--set",
            f"out={tmp_path}", "--store", str(store)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "a QONNX graph with its own 8-bit weight codes" in out and f"{onnx}, 8-bit weights" in out, out
    (results,) = tmp_path.glob("eval-*/results.json")
    rows = json.loads(results.read_text())["results"]
    data = load_dataset("digits")
    for row, p in zip(rows, P, strict=True):
        want = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(p, chip=k) for k in range(CHIPS)])
        assert row["scheme"] == "qonnx" and row["bits"] == 8 and row["clean_error"] == want.clean_error
        assert row["rerr"] == want.rerr.tolist() and row["rerr_mean"] > row["clean_error"], (row, want)
    with Store(store) as s:
        (run,) = s.query("runs")
        assert len(s.query("robustness")) == len(P) * CHIPS
    assert (run["command"], run["method"], run["bits"], run["checkpoint"]) == ("eval", "none", 8, str(onnx.resolve()))
    assert run["config"]["qonnx"]["sha256"] and run["config"]["epochs"] == 0

    assert main(argv) == 0  # the same file and settings: the same run, replaced
    with Store(store) as s:
        assert [r["run_id"] for r in s.query("runs")] == [run["run_id"]]


@pytest.mark.hls
def test_pareto_joins_a_qonnx_files_eval_and_its_hls_cost(exported, tmp_path: Path, capsys) -> None:
    from berth.cli import main
    from berth.flows.select import load_records
    from berth.hardware.hls4ml.qonnx_in import load_qonnx, qonnx_codes
    from berth.hardware.latency.records import LatencyQuery

    onnx, _ = exported
    store = str(tmp_path / "w.sqlite")
    assert main(["eval", "--set", f"model={onnx}", "--set", "p=[0.01]", "--set", "chips=2", "--set",
                 f"out={tmp_path}", "--store", store]) == 0
    assert main(["hls", "export", str(onnx), "--out", str(tmp_path / "prj"), "--store", store]) == 0
    (record,) = load_records(store, LatencyQuery())[0]
    assert record.weight_bits == sum(qt.codes.size * qt.bits for qt in qonnx_codes(load_qonnx(onnx)).values())
    assert record.fpga["macs"] > 0 and record.rerr and "fpga cost" not in record.missing, record
    capsys.readouterr()
    assert main(["pareto", "--store", store, "--out", str(tmp_path / "pareto")]) == 0
    table = (tmp_path / "pareto" / "records.csv").read_text()
    assert "qonnx" in table and str(record.weight_bits) in table, table


@pytest.mark.parametrize("setting, message", [
    ("bits=4", "bits = 4 is not allowed; allowed: 8 (model "),
    ("schemes=['rquant']", "schemes = ['rquant'] is not allowed; allowed: leaving it unset"),
    ("epochs=3", "epochs = 3 is not allowed; allowed: leaving it unset"),
    ("epochs=15", "epochs = 15 is not allowed; allowed: leaving it unset"),  # the default, given: refused too
    ("w_max=0.1", "w_max = 0.1 is not allowed; allowed: leaving it unset"),
    ("dataset=npz", "data_dir"),
])
def test_settings_that_do_not_apply_to_a_qonnx_file_are_one_line(exported, setting, message, tmp_path: Path,
                                                                   capsys) -> None:
    from berth.cli import main

    onnx, _ = exported
    store = tmp_path / "w.sqlite"
    assert main(["eval", "--set", f"model={onnx}", "--set", setting, "--set", f"out={tmp_path}",
                 "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not list(tmp_path.glob("eval-*")) and not store.exists()


def test_a_model_for_other_images_is_refused_before_evaluation_or_export(tmp_path: Path, capsys) -> None:
    """``eval`` of a QONNX file, ``hls export`` of it or of a model file: the data checked first."""
    from brevitas.export import export_qonnx

    from berth.cli import main
    from berth.models import create_model
    from berth.models.files import model_bytes

    user_cnn(tmp_path)
    model = create_model(f"{tmp_path / 'my_cnn.py'}:Net", input_size=12)
    model(torch.rand(4, 1, 12, 12))  # in training mode: Brevitas sets its activation scales
    model.eval()
    export_qonnx(model, input_t=torch.zeros(1, 1, 12, 12), export_path=str(tmp_path / "big.onnx"), dynamo=False)
    (tmp_path / "big.pt").write_bytes(model_bytes(model))
    for argv in (["eval", "--set", f"model={tmp_path / 'big.onnx'}", "--set", f"out={tmp_path}"],
                 ["hls", "export", str(tmp_path / "big.onnx"), "--out", str(tmp_path / "prj")],
                 ["hls", "export", str(tmp_path / "big.pt"), "--out", str(tmp_path / "prj")]):
        assert main(argv) == 2
        out = capsys.readouterr()
        assert out.err.strip().endswith("takes (C, H, W) = (1, 12, 12) inputs; the digits data's images are (1, 8, 8)")
        assert "exporting" not in out.out and not (tmp_path / "prj").exists()
    (tmp_path / "s.toml").write_text(f'models = ["{tmp_path / "big.onnx"}"]\nout = "{tmp_path / "out"}"\n')
    assert main(["sweep", str(tmp_path / "s.toml"), "--store", str(tmp_path / "w.sqlite")]) == 2
    assert "the digits data's images are (1, 8, 8)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "w.sqlite").exists()


SWEEP = """
name = "q"
models = ["{onnx}"]
p = [0.02, 0.05]
chips = 3
out = "{out}"

[[errors]]
kind = "random"
addressing = "position"

[[errors]]
kind = "stuck_at"
value = 1
name = "stuck1"
"""


def test_a_sweep_measures_a_qonnx_file_as_its_brevitas_model_under_every_error_model(exported, tmp_path: Path,
                                                                                     capsys) -> None:
    """One run per QONNX file (not trained, the file itself its model file, never written), each
    error model's rows equal to the Brevitas model's under the same chips; a second sweep finds
    everything stored."""
    from berth.cli import main
    from berth.core.store import Store
    from berth.data.datasets import load_dataset
    from berth.flows.sweep import error_jobs, load_sweep
    from berth.flows.tasks import chip_points, rerr_over_chips

    onnx, model = exported
    before = onnx.read_bytes()
    (tmp_path / "s.toml").write_text(SWEEP.format(onnx=onnx, out=tmp_path / "out"))
    argv = ["sweep", str(tmp_path / "s.toml"), "--executor", "serial", "--store", str(tmp_path / "w.sqlite")]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "read qonnx" in out.out and onnx.read_bytes() == before
    assert "done: 0 trained, 1 QONNX read as it is, 2 evaluated" in out.out + out.err
    sweep, _ = load_sweep(tmp_path / "s.toml")
    data = load_dataset("digits")
    with Store(tmp_path / "w.sqlite") as store:
        (run,) = store.query("runs")
        assert (run["label"], run["scheme"], run["method"], run["checkpoint"]) == ("qonnx", "qonnx", "none",
                                                                                   str(onnx.resolve()))
        for spec in error_jobs(sweep):
            points = chip_points(spec, list(sweep.p), sweep.chips)
            _, want = rerr_over_chips(model, data.x_test, data.y_test.numpy(), spec, points)
            got = [(r["p"], r["chip"], r["rerr"]) for r in store.query("robustness", {"errors": spec["label"]})]
            assert sorted(got) == sorted(want) and len(got) == 6, spec["label"]
    assert main(argv) == 0
    assert "resuming: 3 of 3 tasks already in the store" in capsys.readouterr().out


def test_a_sweep_refuses_all_parameters_of_a_qonnx_file(exported, tmp_path: Path, capsys) -> None:
    from berth.cli import main

    onnx, _ = exported
    (tmp_path / "s.toml").write_text(f'models = ["{onnx}"]\nout = "{tmp_path}"\n[[errors]]\nparameters = "all"\n')
    assert main(["sweep", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"errors[0].parameters = 'all' is not allowed; allowed: weights (models[0] = '{onnx}' is a "
                        "QONNX file: only its weights are stored as codes)"), err


def test_qonnx_outputs_are_the_same_in_chunks(exported) -> None:
    """qonnx keeps every intermediate tensor of a run, so inputs go through in chunks (the last
    one padded): the outputs are those of one run over all of them."""
    from berth.data.datasets import load_dataset
    from berth.hardware.hls4ml.qonnx_in import QonnxReference, load_qonnx

    ref = QonnxReference(load_qonnx(exported[0]))
    xq = ref.on_grid(load_dataset("digits").x_test[:20])
    whole, _ = ref.outputs(xq, chunk=20)
    for chunk in (1, 7, 256):
        assert np.array_equal(ref.outputs(xq, chunk=chunk)[0], whole), chunk
    assert whole.shape == (20, 10)


def test_a_qonnx_file_is_profiled_and_selected_under_a_latency_budget(exported, tmp_path: Path, capsys,
                                                                      monkeypatch) -> None:
    """berth profile measures a QONNX file's three variants (the float equivalent and the QCDQ
    graph in ONNX Runtime, qonnx's own execution as the simulation); ``--runs`` measures an eval
    run's file, and ``berth select`` chooses it."""
    from berth.cli import main
    from berth.core.store import Store

    onnx, _ = exported
    monkeypatch.chdir(tmp_path)
    store = str(tmp_path / "w.sqlite")
    fast = ["--batch", "1", "--repeats", "5", "--store", store]
    assert main(["profile", str(onnx), *fast]) == 0
    out = capsys.readouterr().out
    assert "integer-ort: 2 of 3 weight layers run integer kernels (QLinearConv x2)" in out, out
    with Store(store) as s:
        rows = s.query("latency")
    assert sorted((r["variant"], r["dtype"], r["deployable"]) for r in rows) == [
        ("float", "float32", 1), ("integer-ort", "int8", 1), ("simulation", "float32", 0)]
    assert len({r["model_key"] for r in rows}) == 1 and rows[0]["model_key"].startswith("qonnx-")
    assert main(["profile", str(onnx), "--device", "cuda", *fast]) == 2  # no GPU here; on one, not for a QONNX file
    assert "allowed" in capsys.readouterr().err

    from sklearn.datasets import load_digits

    d = load_digits()  # the user's own data: an npz of 8x8 images
    np.savez(tmp_path / "mine.npz", x_train=(d.images[:300] * 255 / 16).astype(np.uint8), y_train=d.target[:300],
             x_test=(d.images[300:400] * 255 / 16).astype(np.uint8), y_test=d.target[300:400])
    assert main(["eval", "--set", f"model={onnx}", "--set", "p=[0.01]", "--set", "chips=2", "--set", "dataset=npz",
                 "--set", "data_dir=mine.npz", "--set", f"out={tmp_path}", "--store", store]) == 0
    assert f"next: berth hls export {onnx} --set dataset=npz --set data_dir=mine.npz " in capsys.readouterr().out
    assert main(["profile", "--runs", "--variant", "float", *fast]) == 0
    capsys.readouterr()
    assert main(["select", "--latency-budget", "100", "--p", "0.01", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "8-bit qonnx, method none" in out and f"model file: {onnx.resolve()}" in out, out
    assert out.strip().endswith(f"--set dataset=npz --set data_dir={tmp_path / 'mine.npz'}"), out  # exports with its data

    import onnx as onnx_lib

    changed = onnx_lib.load(str(onnx))  # the same path, another file: its latency must not join the old run
    changed.doc_string = "retrained"
    (tmp_path / "copy.onnx").write_bytes(onnx.read_bytes())
    assert main(["eval", "--set", f"model={tmp_path / 'copy.onnx'}", "--set", "p=[0.01]", "--set", "chips=2",
                 "--set", f"out={tmp_path}", "--store", store]) == 0
    onnx_lib.save(changed, str(tmp_path / "copy.onnx"))
    capsys.readouterr()
    assert main(["profile", "--runs", "--variant", "float", *fast]) == 0
    out = capsys.readouterr().out
    assert f"QONNX file '{tmp_path / 'copy.onnx'}' has changed since the run measured it" in out, out


def test_a_qonnx_files_float_variant_computes_its_brevitas_models_float_equivalent(exported) -> None:
    """What ``berth profile`` times as a QONNX file's ``float`` variant is the same network as the
    PyTorch model's: dequantized weights and biases, no activation quantizers."""
    from berth.hardware.latency.qonnx_variants import QonnxVariants
    from berth.hardware.latency.variants import float_equivalent

    onnx, model = exported
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    (got,) = QonnxVariants(onnx, 4, threads=1).float(x.numpy())()
    with torch.no_grad():
        want = float_equivalent(model)(x).numpy()
    assert got.shape == want.shape == (4, 10)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _linear_without_bias(folder: Path) -> tuple[Path, torch.nn.Module]:
    """A Brevitas linear classifier without bias and its QONNX export (Quant -> Transpose -> MatMul)."""
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantIdentity, QuantLinear
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint

    torch.manual_seed(0)
    model = torch.nn.Sequential(QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True),
                                torch.nn.Flatten(),
                                QuantLinear(64, 10, bias=False, weight_quant=Int8WeightPerTensorFixedPoint))
    model(torch.rand(4, 1, 8, 8))  # in training mode: Brevitas sets its activation scale
    model.eval()
    onnx = folder / "nobias.onnx"
    export_qonnx(model, input_t=torch.zeros(1, 1, 8, 8), export_path=str(onnx), dynamo=False)
    return onnx, model


def test_a_linear_layer_without_bias_is_a_weight_layer_through_its_transpose(tmp_path: Path) -> None:
    """Its weight is the initializer before the Transpose, in the model's own (out, in) layout, so
    chips flip the same codes as in the Brevitas model."""
    from berth.cli import main
    from berth.data.datasets import load_dataset
    from berth.hardware.hls4ml.qonnx_in import load_qonnx, qonnx_codes
    from berth.quant.evaluate import robust_error
    from berth.quant.faults import RandomBitErrors

    onnx, model = _linear_without_bias(tmp_path)
    (layer,) = qonnx_codes(load_qonnx(onnx)).items()
    assert layer[0] == "2" and layer[1].codes.shape == (10, 64)
    assert main(["eval", "--set", f"model={onnx}", "--set", "p=[0.05]", "--set", "chips=3",
                 "--set", f"out={tmp_path}", "--store", str(tmp_path / "w.sqlite")]) == 0
    (results,) = tmp_path.glob("eval-*/results.json")
    (row,) = json.loads(results.read_text())["results"]
    data = load_dataset("digits")
    want = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(0.05, chip=k) for k in range(3)])
    assert row["rerr"] == want.rerr.tolist() and row["clean_error"] == want.clean_error


@pytest.mark.hls
def test_a_linear_layer_without_bias_goes_to_hardware_exactly(tmp_path: Path) -> None:
    from berth.hardware.hls4ml.chips import inject_chips
    from berth.hardware.hls4ml.export import export_qonnx_project
    from berth.hardware.hls4ml.verify import verify_project

    onnx, _ = _linear_without_bias(tmp_path)
    project = export_qonnx_project(onnx, tmp_path / "prj")
    assert verify_project(project).exact_match == 1.0
    for chip in inject_chips(project, 0.05, [0, 1]):
        assert chip.flipped_codes > 0 and chip.comparison.exact_match == 1.0
