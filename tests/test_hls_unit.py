"""hls export pieces that need no compiler: refusals, folding, config, weight files, reports, build errors."""

import json
import os
import stat

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from berth.core.config import load_config
from berth.core.errors import BerthError
from berth.core.store import Store
from berth.hardware.hls4ml.export import export_project
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.hls4ml.synth import build_project, report_project
from berth.hardware.vitis_report import parse_csynth_xml
from berth.hardware.hls4ml.target import HlsTarget
from berth.hardware.hls4ml.check import check_modules, is_pow2
from berth.hardware.hls4ml.cost import memory_words
from berth.hardware.hls4ml.fold import fold_batchnorm
from berth.hardware.hls4ml.weightmap import Slot, format_values, load_slots, save_slots, slot_values
from berth.models import create_model
from berth.models.layers import ReparamBatchNorm2d
from berth.quant.codes import QTensor

HW = dict(scheme="fixed", bits=8, act_bits=8, hw=True)


def calibrated(model, seed=0):
    """``model`` after one train-mode pass on random inputs (activation scales initialised), in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        model(torch.rand(16, 1, 8, 8, generator=gen))
    return model.eval()


@pytest.mark.parametrize("name, kw, layer, why", [
    ("simplenet", dict(widths=(4,), groups=2), "features.1", "group norm"),
    ("resnet20", dict(width=4, blocks=1), "pool", "GlobalAveragePool converts silently wrong"),
    ("lenet", dict(channels=(4, 8), hidden=16, scheme="normal"), "conv1", "scheme 'normal'"),
    ("lenet", dict(channels=(4, 8), hidden=16, scheme="rquant"), "conv1", "scheme 'rquant'"),
    ("mlp", dict(hidden=(8,), layer_schemes={"body.3": "symmetric"}), "body.3", "scheme 'symmetric'"),
])
def test_inexact_layers_are_refused_by_name(tmp_path, name, kw, layer, why):
    model = calibrated(create_model(name, **{**HW, **kw}))
    with pytest.raises(BerthError, match=rf"layer '{layer}'.*{why}") as err:
        export_project(model, tmp_path / "prj")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "prj").exists() and not list(tmp_path.iterdir())  # nothing half-written


def test_existing_output_directory_needs_force(tmp_path):
    (tmp_path / "prj").mkdir()
    with pytest.raises(BerthError, match="exists; choose another or pass --force"):
        export_project(calibrated(create_model("mlp", **HW, hidden=(8,))), tmp_path / "prj")
    with pytest.raises(BerthError, match="not a berth HLS project"):
        HlsProject.load(tmp_path / "prj")


def test_uncalibrated_activations_are_refused():
    with pytest.raises(BerthError, match=r"layer 'body.2'.*never saw data"):
        check_modules(create_model("mlp", **HW, hidden=(8,)))


def test_software_models_without_hardware_quantizers_are_refused():
    with pytest.raises(BerthError, match="no fixed-point input quantizer"):
        check_modules(create_model("mlp", scheme="fixed", hidden=(8,)))
    model = calibrated(create_model("mlp", scheme="fixed", act_bits=8, hidden=(8,)))
    model.input_quant = create_model("mlp", **HW, hidden=(8,)).input_quant
    with pytest.raises(BerthError, match=r"layer 'body.1'.*float bias"):
        check_modules(model)


def test_hw_models_keep_defaults_unchanged():
    plain = create_model("lenet", channels=(4, 8), hidden=16)
    again = create_model("lenet", channels=(4, 8), hidden=16)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), again.state_dict().values()))
    assert isinstance(plain.input_quant, torch.nn.Identity) and plain.conv1.bias is not None
    assert "hw" not in plain.berth_config
    hw = create_model("resnet20", **HW, width=4, blocks=1, head="max")
    assert hw.berth_config["hw"] is True and hw.conv1.bias is not None
    assert create_model("resnet20", width=4, blocks=1).conv1.bias is None
    with pytest.raises(BerthError, match="needs act_bits"):
        create_model("mlp", scheme="fixed", hw=True)


def test_fold_matches_conv_then_reparam_batchnorm():
    model = create_model("resnet20", **HW, width=4, blocks=1, head="max").eval()
    conv, bn = model.conv1, model.bn1
    assert isinstance(bn, ReparamBatchNorm2d)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(-0.3, 0.3), bn.bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 1, 8, 8)
    w, b = conv.weight.detach().clone(), conv.bias.detach().clone()
    expected = bn(F.conv2d(x, w, b, padding=1))
    fold_batchnorm(model)
    assert isinstance(model.bn1, torch.nn.Identity)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    got = F.conv2d(x, model.conv1.weight, model.conv1.bias, padding=1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_target_from_toml_and_bad_values(tmp_path):
    from berth.flows.hls import HlsExportConfig

    cfg_file = tmp_path / "hls.toml"
    cfg_file.write_text('[target]\npart = "xcu250-figd2104-2L-e"\nclock_period = 4\nstrategy = "Resource"\n'
                        'reuse_factor = 4\n[model]\nbits = 4\narch = { hidden = [16] }\n')
    cfg = load_config(HlsExportConfig, cfg_file, ["target.io_type='io_parallel'"])
    assert cfg.target == HlsTarget(part="xcu250-figd2104-2L-e", clock_period=4.0, io_type="io_parallel",
                                   strategy="Resource", reuse_factor=4)
    assert cfg.model.bits == 4 and cfg.model.arch == {"hidden": [16]}
    with pytest.raises(BerthError, match="unknown key 'fpga'"):
        load_config(HlsExportConfig, None, ["target.fpga=1"])
    with pytest.raises(BerthError, match="strategy"):
        load_config(HlsExportConfig, None, ["target.strategy='Fast'"])
    with pytest.raises(BerthError, match="reuse_factor"):
        HlsTarget(reuse_factor=0)


def test_weight_values_print_exactly_and_map_round_trips(tmp_path):
    qt = QTensor(np.array([[-128, 127], [1, -1], [0, 5]], dtype=np.int8), 2.0 ** -9, 0.0, 8, True)
    slot = Slot("fc", "w7", np.array([5, 0, 3, 1, 4, 2]))
    values = slot_values(slot, qt)
    assert values.tolist() == [5 * 2**-9, -128 * 2**-9, -1 * 2**-9, 127 * 2**-9, 0.0, 1 * 2**-9]
    text = format_values(values)
    assert "e" not in text and [float(v) for v in text.split(",")] == values.tolist()
    save_slots(tmp_path / "map.npz", {"fc": slot})
    back = load_slots(tmp_path / "map.npz")["fc"]
    assert back.var == "w7" and np.array_equal(back.perm, slot.perm)


def test_memory_words_follow_berths_layout():
    codes = {"a": QTensor(np.zeros(10, np.int8), 1.0, 0.0, 4, True),
             "b": QTensor(np.zeros(9, np.int8), 1.0, 0.0, 8, True)}
    assert memory_words(codes, 32) == 2 + 3  # 8 four-bit codes per word, then 4 eight-bit codes per word
    assert memory_words(codes, 8) == 5 + 9
    assert is_pow2(0.125) and not is_pow2(0.3) and not is_pow2(0.0)


CSYNTH = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>zynq</ProductFamily><Part>xc7z020-clg400-1</Part>
    <TopModelName>myproject</TopModelName><TargetClockPeriod>10.00</TargetClockPeriod>
    <ClockUncertainty>2.70</ClockUncertainty><FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>dataflow</PipelineType>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>6.912</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit><Best-caseLatency>87</Best-caseLatency><Average-caseLatency>90</Average-caseLatency>
      <Worst-caseLatency>93</Worst-caseLatency><Best-caseRealTimeLatency>0.870 us</Best-caseRealTimeLatency>
      <Interval-min>66</Interval-min><Interval-max>66</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>4</BRAM_18K><DSP>12</DSP><FF>3456</FF><LUT>7890</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM></AvailableResources>
  </AreaEstimates>
</profile>
"""


def fake_project(root, backend="Vitis"):
    """A project directory with berth's metadata only (what build/report read), no hls4ml files."""
    (root / "berth").mkdir(parents=True)
    meta = {"project_id": "abc123", "top": "myproject", "target": {"backend": backend},
            "model_config": {"name": "mlp", "scheme": "fixed", "bits": 8}, "extra": {}}
    (root / "berth" / "project.json").write_text(json.dumps(meta))
    return HlsProject.load(root)


def test_csynth_report_is_parsed_into_the_store(tmp_path):
    project = fake_project(tmp_path / "prj")
    with pytest.raises(BerthError, match="run 'berth hls build' first"):
        report_project(project)
    xml = tmp_path / "prj" / "myproject_prj" / "solution1" / "syn" / "report" / "myproject_csynth.xml"
    xml.parent.mkdir(parents=True)
    xml.write_text(CSYNTH)
    parsed = parse_csynth_xml(xml)
    assert parsed["latency_best"] == 87 and parsed["latency_worst"] == 93 and parsed["interval_max"] == 66
    assert parsed["estimated_clock_ns"] == 6.912 and parsed["target_clock_ns"] == 10
    res = parsed["resources"]
    assert (res["LUT"], res["FF"], res["DSP"], res["BRAM_18K"]) == (7890, 3456, 12, 4)
    store_path = tmp_path / "results.sqlite"
    report_project(project, store_path)
    with Store(store_path) as store:
        (row,) = store.query("hls_synth")
    assert (row["design"], row["config"]) == ("hls4ml", "abc123") and row["lut"] == 7890 and row["available"]["DSP"] == 220
    bad = tmp_path / "bad.xml"
    bad.write_text("<profile/>")
    with pytest.raises(BerthError, match="not a Vivado/Vitis HLS csynth.xml report"):
        parse_csynth_xml(bad)


def test_one_hls_synth_schema_for_hls4ml_and_kernel_reports(tmp_path):
    """An hls4ml report and a block-matching report share one store: one schema, no duplicate
    rows when either is filed again."""
    from berth.hardware.blockmatch.vitis.vendor import store_synthesis

    project = fake_project(tmp_path / "prj")
    xml = tmp_path / "prj" / "myproject_prj" / "solution1" / "syn" / "report" / "myproject_csynth.xml"
    xml.parent.mkdir(parents=True)
    xml.write_text(CSYNTH)
    kernel = {**parse_csynth_xml(xml), "tool": "vitis_hls", "params": {"k": 16}, "height": 24, "width": 32}
    store_path = tmp_path / "shared.sqlite"
    for _ in range(2):
        report_project(project, store_path)
        store_synthesis(kernel, store_path)
    with Store(store_path) as store:
        rows = store.query("hls_synth", order_by="design")
        columns = store.columns("hls_synth")
    assert [r["design"] for r in rows] == ["blockmatch", "hls4ml"]
    assert "clock_target_ns" not in columns and {"target_clock_ns", "estimated_clock_ns"} <= set(columns)
    assert all(r["lut"] == 7890 and r["target_clock_ns"] == 10 for r in rows)

def test_build_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("BERTH_VITIS_RUN", raising=False)
    with pytest.raises(BerthError, match=r"needs 'vitis-run' on PATH for the Vitis backend.*not found"):
        build_project(fake_project(tmp_path / "a"))
    with pytest.raises(BerthError, match=r"needs 'vivado_hls'"):
        build_project(fake_project(tmp_path / "b", backend="Vivado"))


def test_build_failure_names_the_log(tmp_path, monkeypatch):
    """A vendor tool that exits non-zero (a shell script standing in for it) is an error with the log path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "vitis-run"
    tool.write_text("#!/bin/sh\necho 'ERROR: [HLS 200-70] license not found'\nexit 3\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = fake_project(tmp_path / "prj")
    with pytest.raises(BerthError, match=r"vitis-run failed \(exit 3\); log: .*build.log"):
        build_project(project)
    assert "license not found" in (project.logs / "build.log").read_text()
    assert "synth 1" in (project.root / "build_opt.tcl").read_text()
