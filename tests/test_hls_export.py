"""hls4ml projects of zoo models: bit-exact C simulation, clean and with bit errors in the weight files.

Every case compiles its C simulation once (module-scoped fixture) with g++ — the real hls4ml
route, no stand-ins. For each model, the perturbed C simulation equals the
perturbed software model bit for bit on 200 inputs at p = 1% for 3 chips.
"""

import hashlib
import shutil

import numpy as np
import pytest
import torch

from berth.train.checkpoint import save_checkpoint
from berth.cli import main
from berth.data.datasets import Dataset, load_dataset
from berth.core.store import Store, workspace_store
from berth.core.tools import find_tool
from berth.hardware.hls4ml.chips import inject_chips
from berth.hardware.hls4ml.export import export_project
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.hls4ml.target import HlsTarget
from berth.hardware.hls4ml.verify import verify_project
from berth.hardware.hls4ml.compare import csim_outputs, on_grid, software_outputs
from berth.models import create_model
from berth.quant.faults import RandomBitErrors, StuckAtErrors
from berth.quant.inject import model_codes, use_codes
from berth.train.loop import TrainConfig, train

pytestmark = [pytest.mark.hls, pytest.mark.slow,
              pytest.mark.skipif(find_tool("g++") is None, reason="C simulation needs g++")]

ARCH = {"mlp": {"hidden": [16]}, "lenet": {"channels": [4, 8], "hidden": 16},
        "resnet20": {"width": 4, "blocks": 1, "head": "max"}}
# how each case is exported: through the CLI from a zoo name, from a checkpoint file, or by the API
ROUTE = {("mlp", 8): "cli", ("mlp", 4): "api", ("lenet", 8): "api", ("lenet", 4): "checkpoint",
         ("resnet20", 8): "api", ("resnet20", 4): "api"}
N = 200


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


def trained(name, bits, data):
    """A hardware model of the zoo after a short QAT run on 512 images (scales and norm statistics set)."""
    model = create_model(name, scheme="fixed", bits=bits, act_bits=8, hw=True, seed=1, **ARCH[name])
    subset = Dataset(data.name, data.x_train[:512], data.y_train[:512], data.x_test, data.y_test)
    train(model, subset, TrainConfig(epochs=2, seed=1), progress=False)
    return model


def export_case(case, root, data):
    """Export one (model, bits) case by its route; the project."""
    name, bits = case
    out = root / "prj"
    route = ROUTE[case]
    if route == "cli":
        sets = [f"model.bits={bits}", "model.epochs=1", "model.seed=1"]  # trains on all of digits: the MLP is fast
        sets += [f"model.arch.{k}={v!r}".replace("'", '"') for k, v in ARCH[name].items()]
        assert main(["hls", "export", name, "--out", str(out), *sum((["--set", s] for s in sets), [])]) == 0
    elif route == "checkpoint":
        ckpt = root / "model.pt"
        save_checkpoint(ckpt, trained(name, bits, data))
        assert main(["hls", "export", str(ckpt), "--out", str(out)]) == 0
    else:
        export_project(trained(name, bits, data), out)
    return HlsProject.load(out)


@pytest.fixture(scope="module")
def projects(tmp_path_factory, data):
    """``projects(case)``: the case's project, exported and compiled once per test module."""
    cache = {}

    def get(case):
        if case not in cache:
            cache[case] = export_case(case, tmp_path_factory.mktemp(f"{case[0]}{case[1]}"), data)
        return cache[case]
    return get


@pytest.fixture(params=list(ROUTE), ids=lambda c: f"{c[0]}-{c[1]}bit")
def project(request, projects):
    return projects(request.param)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_project_is_complete(project):
    meta = project.meta
    assert meta["target"]["part"] == HlsTarget().part and meta["target"]["io_type"] == "io_stream"
    model = project.software_model()
    codes = model_codes(model)
    assert list(project.slots()) == list(codes)  # every quantized layer has its weight file
    defines = (project.root / "firmware" / "defines.h").read_text()
    for layer in meta["layers"].values():
        assert (project.weights_dir / f"{layer['var']}.txt").is_file()
        assert f"AP_WRAP,0> weight{layer['var'][1:]}_t;" in defines  # the most negative code loads as is
    cost = __import__("json").loads((project.berth_dir / "cost.json").read_text())
    assert cost["macs"] > 0 and cost["bops"] > 0 and cost["code_bits"] == sum(q.codes.size * q.bits for q in codes.values())
    assert cost["memory_words"] >= cost["code_bits"] / 32
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert f"OutputDir: {project.root.resolve()}\n" in (project.root / "hls4ml_config.yml").read_text()


def test_clean_csim_is_bit_exact(project):
    res = verify_project(project, n=N)
    assert (res.n, res.exact_match, res.max_abs_diff, res.argmax_agreement) == (N, 1.0, 0.0, 1.0)


def test_bit_errors_in_weight_files_match_software_model(project, data):
    lib = project.root / "firmware" / "berth-csim.so"
    before = (lib.stat().st_mtime_ns, digest(project.weights_dir))
    results = inject_chips(project, 0.01, [0, 1, 2], n=N)
    for r in results:
        assert r.flipped_codes > 0
        assert (r.comparison.exact_match, r.comparison.max_abs_diff, r.comparison.argmax_agreement) == (1.0, 0.0, 1.0)
    assert (lib.stat().st_mtime_ns, digest(project.weights_dir)) == before  # no recompilation, clean files kept


def test_stuck_at_chip_matches_software_model(project):
    (r,) = inject_chips(project, 0.01, [5], n=N, errors=StuckAtErrors)
    assert r.flipped_codes > 0 and r.comparison.exact_match == 1.0


def extreme_codes(clean):
    """Every layer's first codes set to the most negative and most positive values of its width."""
    out = {}
    for name, q in clean.items():
        codes = q.codes.copy().ravel()
        codes[0], codes[1], codes[-1] = -(2 ** (q.bits - 1)), 2 ** (q.bits - 1) - 1, -(2 ** (q.bits - 1))
        out[name] = q.with_codes(codes.reshape(q.codes.shape))
    return out


def test_perturbed_csim_changes_exactly_like_software(project, data):
    """The C simulation really reloads the weights: its outputs move with the chip, to the software's values.

    The last code set holds the most negative code (e.g. -128 at 8 bits, outside the clean narrow
    range): only wrap-mode weight types load it unchanged.
    """
    model = project.software_model()
    xq = on_grid(model, data.x_test[:N])
    clean = model_codes(model)
    hw_clean, _ = csim_outputs(project, xq)
    code_sets = [RandomBitErrors(0.01, chip=chip).perturb(clean) for chip in (0, 1, 2)] + [extreme_codes(clean)]
    for perturbed in code_sets:
        with use_codes(model, perturbed):
            sw, _ = software_outputs(model, xq)
        with project.weights_with(perturbed) as weights:
            hw, _ = csim_outputs(project, xq, weights)
        assert np.array_equal(hw, sw) and not np.array_equal(hw, hw_clean)


def test_cli_verify_and_inject_record_results(projects, tmp_path, capsys):
    project = projects(("mlp", 8))  # the CLI-exported project
    store = tmp_path / "results.sqlite"
    assert main(["hls", "verify", str(project.root), "--n", "50"]) == 0
    assert "exact match 100.00%" in capsys.readouterr().out
    assert main(["hls", "inject", str(project.root), "--chip", "3", "4", "5", "--p", "0.01", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.count("100.00") >= 6
    with Store(store) as s:
        rows = s.query("hls_inject", order_by="chip")
    assert [r["chip"] for r in rows] == [3, 4, 5] and all(r["exact_match"] == 1.0 for r in rows)
    with Store(workspace_store()) as s:  # the CLI export filed its cost in the workspace store
        (cost,) = [r for r in s.query("hls_cost") if r["project"] == project.meta["project_id"]]
    assert cost["macs"] > 0
    assert main(["hls", "inject", str(project.root), "--chip", "0", "--p", "1.5"]) == 2


def test_cli_injects_stuck_at_and_profiled_chips_exactly(projects, tmp_path, capsys):
    """Every fault model a sweep knows reaches the hardware weights the way software applies it."""
    project = projects(("mlp", 8))
    rng = np.random.default_rng(0)
    maps = []
    for k in range(2):
        path = tmp_path / f"chip{k}.npy"
        np.save(path, rng.uniform(0, 0.02, size=(4096, 32)))
        maps.append(str(path))
    common = [str(project.root), "--n", "60", "--store", str(tmp_path / "s.sqlite")]
    assert main(["hls", "inject", *common, "--chip", "7", "--p", "0.02", "--kind", "stuck_at", "--value", "1"]) == 0
    assert main(["hls", "inject", *common, "--chip", "7", "--p", "0.02"]) == 0  # random flips: rows of their own
    assert main(["hls", "inject", *common, "--chip", "0", "1", "--p", "0", "--kind", "profiled", "--maps", *maps]) == 0
    with Store(tmp_path / "s.sqlite") as s:
        rows = s.query("hls_inject")
    assert len(rows) == 4 and all(r["exact_match"] == 1.0 and r["flipped_codes"] > 0 for r in rows)
    labels = sorted(r["errors"] for r in rows)
    assert labels[:2] == ["profiled-" + labels[0][-12:]] * 2 and labels[2:] == ["random", "stuck_at-1"]
    assert all(r["versions"]["berth"] and r["data"]["dataset"] == "digits" and r["finished"] for r in rows)
    assert main(["hls", "inject", *common, "--chip", "2", "--p", "0", "--kind", "profiled", "--maps", *maps]) == 2
    assert "profiled chip 2 has no map" in capsys.readouterr().err
    assert main(["hls", "inject", *common, "--chip", "0", "--p", "0", "--kind", "profiled"]) == 2
    assert "--kind profiled needs --maps" in capsys.readouterr().err


def test_moved_project_still_simulates(projects, tmp_path):
    project = projects(("lenet", 4))
    moved = tmp_path / "moved"
    shutil.copytree(project.root, moved)
    assert verify_project(HlsProject.load(moved), n=20).exact_match == 1.0


def test_resource_strategy_transposes_and_stays_exact(tmp_path, data):
    model = trained("mlp", 8, data)
    project = export_project(model, tmp_path / "res", HlsTarget(strategy="Resource", reuse_factor=2))
    fc1 = project.slots()["body.1"]
    rows, cols = model.body[1].weight.shape
    assert np.array_equal(fc1.perm, np.arange(rows * cols))  # Resource: (out, in) order = PyTorch's own
    assert verify_project(project, n=N).exact_match == 1.0
    (r,) = inject_chips(project, 0.01, [7], n=N)
    assert r.comparison.exact_match == 1.0 and r.flipped_codes > 0
