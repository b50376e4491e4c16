"""Offset-coded weights (the ``offset`` scheme: RQuant's storage on a power-of-two step) from
training to hardware: clipping, RandBET and AdvBET train on it; ``berth hls export`` stores the
unsigned codes (weight files and weightmap.npz) and zero point, and the HLS weight type decodes
them on read into (code - zero point) * step exactly; ``verify`` is bit-exact and ``inject`` —
random chips, a stuck-at chip, profiled maps — corrupts the stored codes so that the C simulation
equals the software model under each chip on every input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from berth.cli import main
from berth.core.store import Store
from berth.core.tools import find_tool
from berth.data.datasets import Dataset, load_dataset
from berth.models import create_model
from berth.quant.codes import Quantizer, weight_range
from berth.quant.inject import model_codes
from berth.quant.scheme import get_scheme
from berth.train.loop import TrainConfig, train

CHIPS, P, N = (0, 1, 2), 0.01, 200


def test_offset_scheme_is_rquant_storage_on_a_power_of_two_step():
    offset, rquant = get_scheme("offset"), get_scheme("rquant")
    assert (offset.symmetric, offset.signed, offset.rounding, offset.granularity, offset.w_max) == (
        rquant.symmetric, rquant.signed, rquant.rounding, rquant.granularity, rquant.w_max)
    assert offset.pow2 and offset.hls_exact and not rquant.hls_exact
    w = torch.tensor([-0.3, -0.1, 0.0, 0.2, 0.45])
    q = Quantizer(offset.replace(bits=4), *weight_range([w], offset))
    assert q.scale == 0.0625 and q.zero_point == round(0.3 / 0.0625)  # (0.75 / 15 → 2^-4), lo at code 0
    codes = torch.arange(16, dtype=torch.float32)
    assert torch.equal(q.decode(codes), (codes - q.zero_point) * 0.0625)  # every code, flipped ones too
    assert q.encode(w).tolist() == [0, 3, 5, 8, 12]


def test_decoded_type_is_just_wide_enough():
    from berth.hardware.hls4ml.offset import decoded_bits
    from berth.quant.codes import QTensor

    def width(bits, zero_point):
        return decoded_bits(QTensor(np.zeros(1, np.uint8), 0.5, zero_point, bits, False))

    assert width(8, 128) == 8 and width(8, 72) == 9 and width(8, 0) == 9 and width(8, 255) == 9
    assert width(4, -3) == 6  # all weights positive: codes 0..15 are worth 3..18


@pytest.mark.parametrize("method,extra", [("qat", {}), ("randbet", {"bet_p": 0.01}), ("advbet", {"bet_epsilon": 4})])
def test_clipping_randbet_and_advbet_train_on_offset_codes(method, extra):
    data = load_dataset("digits")
    subset = Dataset(data.name, data.x_train[:128], data.y_train[:128], data.x_test, data.y_test)
    model = create_model("mlp", scheme="offset", w_max=0.1, bits=8, act_bits=8, hw=True, seed=0, hidden=[16])
    before = {k: qt.codes.copy() for k, qt in model_codes(model).items()}
    train(model, subset, TrainConfig(epochs=1, seed=0, method=method, **extra), progress=False)
    for name, qt in model_codes(model).items():
        assert qt.codes.dtype == np.uint8 and qt.zero_point == int(qt.zero_point)
        assert not np.array_equal(qt.codes, before[name])
        assert np.abs(qt.dequantize()).max() <= 0.1 + qt.scale / 2  # clipped to w_max


@pytest.mark.hls
@pytest.mark.slow
@pytest.mark.skipif(find_tool("g++") is None, reason="C simulation needs g++")
def test_randbet_offset_model_in_hardware_is_the_software_model_under_every_chip(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--set", "model=mlp", "--set", "arch={hidden = [32]}", "--set", "scheme=offset",
                 "--set", "hw=true", "--set", "act_bits=8", "--set", "w_max=0.5", "--set", "train.method=randbet",
                 "--set", "train.bet_p=0.01", "--set", "train.epochs=2", "--set", "chips=1", "--set", "p=[0.01]",
                 "--set", "out=runs"]) == 0
    (ckpt,) = tmp_path.glob("runs/train-*/checkpoint.pt")
    assert main(["hls", "export", str(ckpt), "--out", "prj"]) == 0
    _stored_codes_decode_to_the_weight_files(tmp_path / "prj")
    assert main(["hls", "verify", "prj", "--n", str(N)]) == 0

    maps = []
    for k in range(2):  # profiled chips: per-bit flip probabilities over 32-bit words
        maps.append(str(tmp_path / f"chip{k}.npy"))
        np.save(maps[-1], np.random.default_rng(k).uniform(0, 0.02, size=(2048, 32)))
    store = ["--store", str(tmp_path / "s.sqlite")]
    common = ["hls", "inject", "prj", "--n", str(N), *store]
    assert main([*common, "--chip", *map(str, CHIPS), "--p", str(P)]) == 0
    assert main([*common, "--chip", "7", "--p", "0.02", "--kind", "stuck_at", "--value", "1"]) == 0
    assert main([*common, "--chip", "0", "1", "--p", "0", "--kind", "profiled", "--maps", *maps]) == 0
    with Store(tmp_path / "s.sqlite") as s:
        rows = s.query("hls_inject")
    assert len(rows) == 6
    for row in rows:  # the chip software evaluates, in the C simulation, on every input
        assert row["n"] == N and row["exact_match"] == 1.0 and row["hw_error"] == row["sw_error"], row
        assert row["flipped_codes"] > 0


def _stored_codes_decode_to_the_weight_files(root: Path) -> None:
    """weightmap.npz holds each layer's clean unsigned codes and zero point; the weight files (C
    simulation and synthesis) hold those codes, and their type decodes them on read into an
    ap_fixed wide enough for every code, whose LSB is the step."""
    from berth.hardware.hls4ml.offset import decoded_bits
    from berth.hardware.hls4ml.project import HlsProject
    from berth.hardware.hls4ml.weightmap import stored_codes

    project = HlsProject.load(root)
    clean = model_codes(project.software_model())
    defines = (root / "firmware" / "defines.h").read_text()
    assert '#include "berth_offset.h"' in defines
    for layer, (codes, zero_point, step, bits) in stored_codes(project.berth_dir / "weightmap.npz").items():
        slot = project.slots()[layer]
        assert codes.dtype == np.uint8 and bits == 8 and zero_point > 0 and zero_point == int(zero_point)
        assert np.array_equal(codes, clean[layer].codes)
        in_order = codes.astype(np.int64).ravel()[slot.perm]
        txt = np.array([int(v) for v in (project.weights_dir / f"{slot.var}.txt").read_text().split(",")])
        init = re.search(r"= \{([^}]*)\};", (project.weights_dir / f"{slot.var}.h").read_text()).group(1)
        assert np.array_equal(txt, in_order) and np.array_equal([int(v) for v in init.split(",")], in_order)
        width = decoded_bits(clean[layer])
        found = re.search(rf"typedef berth::offset_code<8, {int(zero_point)}, {width}, (-?\d+), ap_fixed<{width},"
                          rf"[^;]*> weight{slot.var[1:]}_t;", defines)
        assert found is not None and 2.0 ** (int(found.group(1)) - width) == step


@pytest.mark.hls
@pytest.mark.slow
@pytest.mark.skipif(find_tool("g++") is None, reason="C simulation needs g++")
def test_offset_codes_decode_on_read_in_convolutions_and_the_resource_strategy(tmp_path: Path):
    """A 4-bit LeNet on offset codes, io_parallel with the Resource strategy: exact clean and under chips."""
    from berth.hardware.hls4ml.chips import inject_chips
    from berth.hardware.hls4ml.export import export_project
    from berth.hardware.hls4ml.target import HlsTarget
    from berth.hardware.hls4ml.verify import verify_project

    data = load_dataset("digits")
    model = create_model("lenet", scheme="offset", bits=4, act_bits=8, hw=True, seed=1, channels=(4, 8), hidden=16)
    train(model, Dataset(data.name, data.x_train[:512], data.y_train[:512], data.x_test, data.y_test),
          TrainConfig(epochs=2, seed=1), progress=False)
    project = export_project(model, tmp_path / "prj", target=HlsTarget(io_type="io_parallel", strategy="Resource"))
    assert (project.root / "firmware" / "defines.h").read_text().count("berth::offset_code<4,") == 4
    assert verify_project(project, N).exact_match == 1.0
    assert all(r.comparison.exact_match == 1.0 and r.flipped_codes > 0 for r in inject_chips(project, P, [0, 1], N))
