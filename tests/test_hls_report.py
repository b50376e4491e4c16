"""``berth hls report``: the synthesized top (an AXI wrapper when there is one), every layer instance,
the project's part and clock checked, resources over the part flagged, all of it in the store.

Most report folders here are hand-made (small csynth.xml files in the layout Vivado HLS 2019.2
writes: ``csynth.xml`` naming the top, one ``<module>_csynth.xml`` per synthesized function), built
to hit each case: another clock, a part spelled differently, BRAM over the part; two tests read
real public reports (tests/data/csynth/conv_autoencoder by Vivado HLS, vitis_conv1d by Vitis HLS,
sources in its README).
"""

import json
import shutil
from pathlib import Path

import pytest

from berth.cli import main
from berth.core.errors import BerthError
from berth.core.store import Store
from berth.hardware.hls4ml.synth import report_project
from berth.hardware.vitis_report import (config_index, module_information, module_reports, over_use, parse_csynth_xml,
                                         target_mismatch, top_report)

AVAILABLE = {"BRAM_18K": 280, "DSP48E": 220, "FF": 106400, "LUT": 53200, "URAM": 0}


def csynth(top, part="xc7z020-clg400-1", clock=5.0, latency=(100, 120), res=(4, 10, 1000, 2000)):
    bram, dsp, ff, lut = res
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<profile><ReportVersion><Version>2019.2.1</Version></ReportVersion>
<UserAssignments><unit>ns</unit><Part>{part}</Part><TopModelName>{top}</TopModelName>
<TargetClockPeriod>{clock:.2f}</TargetClockPeriod></UserAssignments>
<PerformanceEstimates><SummaryOfTimingAnalysis><EstimatedClockPeriod>4.429</EstimatedClockPeriod></SummaryOfTimingAnalysis>
<SummaryOfOverallLatency><Best-caseLatency>{latency[0]}</Best-caseLatency><Worst-caseLatency>{latency[1]}</Worst-caseLatency>
<Interval-min>{latency[0]}</Interval-min><Interval-max>{latency[1]}</Interval-max></SummaryOfOverallLatency>
</PerformanceEstimates>
<AreaEstimates><Resources><BRAM_18K>{bram}</BRAM_18K><DSP48E>{dsp}</DSP48E><FF>{ff}</FF><LUT>{lut}</LUT><URAM>0</URAM></Resources>
<AvailableResources>{''.join(f'<{k}>{v}</{k}>' for k, v in AVAILABLE.items())}</AvailableResources></AreaEstimates>
</profile>
"""


MODULES = {"conv_2d_cl_array_array_ap_fixed_8u_config2_s": ((4624, 23120), (7, 30, 3681, 1476)),
           "relu_array_array_ap_fixed_8u_relu_config3_s": ((1156, 1157), (0, 0, 40, 300)),
           "dense_array_array_ap_fixed_10u_config5_s": ((40, 41), (2, 16, 900, 1200)),
           "myproject": ((96019, 96170), (285, 118, 53000, 35000))}


def report_folder(root, axi=True, part="xc7z020-clg400-1", clock=5.0):
    """A synthesis report folder of a design with an AXI wrapper top (285 BRAM_18K of 280) and its modules."""
    folder = root / "myproject_prj" / "solution1" / "syn" / "report"
    folder.mkdir(parents=True)
    top = "myproject_axi" if axi else "myproject"
    (folder / "csynth.xml").write_text(csynth(top, part, clock, (96019, 96170), (289, 118, 53257, 35689)))
    for name, (lat, res) in MODULES.items():
        if name != top:
            (folder / f"{name}_csynth.xml").write_text(csynth(name, part, clock, lat, res))
    return folder


def berth_project(root, part="xc7z020clg400-1", clock=10.0):
    """berth's metadata of a project whose layer 2 is berth's conv1 and layer 5 hls4ml's Dense_MatMul_0."""
    (root / "berth").mkdir(parents=True)
    meta = {"project_id": "p42", "top": "myproject", "target": {"part": part, "clock_period": clock},
            "model_config": {"name": "lenet", "scheme": "fixed", "bits": 8}, "extra": {},
            "hls_layer_index": {"2": "Conv2D_Conv_0", "3": "Relu_0", "5": "Dense_MatMul_0"},
            "layer_config": {"conv1": {"hls_layer": "Conv2D_Conv_0"}}}
    (root / "berth" / "project.json").write_text(json.dumps(meta))
    return root


def test_axi_top_chosen_mismatch_and_over_use_said_and_every_module_stored(tmp_path):
    root = berth_project(tmp_path / "prj")
    report_folder(root)
    rep = report_project(root)
    assert rep.top["top"] == "myproject_axi" and rep.top["bram_18k"] == 289
    assert rep.mismatch == ("the report was synthesized for xc7z020-clg400-1 at 5 ns, but the project targets "
                            "xc7z020clg400-1 at 10 ns: its figures are not this target's")
    assert rep.over_use == ["BRAM_18K 289 of 280 (103%)"]
    with Store(root / "berth" / "results.sqlite") as store:
        (top,) = store.query("hls_synth")
        modules = {m["module"]: m for m in store.query("hls_synth_modules")}
    assert (top["design"], top["config"], top["top"]) == ("hls4ml", "p42", "myproject_axi")
    assert top["report"]["over_use"] == rep.over_use and top["report"]["mismatch"] == rep.mismatch
    assert set(modules) == set(MODULES)  # the wrapped myproject is an instance too
    conv = modules["conv_2d_cl_array_array_ap_fixed_8u_config2_s"]
    assert conv["layer"] == "conv1" and (conv["latency_best"], conv["latency_worst"]) == (4624, 23120)
    assert (conv["lut"], conv["ff"], conv["dsp"], conv["bram_18k"]) == (1476, 3681, 30, 7)
    assert modules["dense_array_array_ap_fixed_10u_config5_s"]["layer"] == "Dense_MatMul_0"
    assert modules["relu_array_array_ap_fixed_8u_relu_config3_s"]["layer"] == "Relu_0"
    assert modules["myproject"]["layer"] is None and modules["myproject"]["bram_18k"] == 285
    assert rep.estimates == {}  # no cost.json in this project


def test_cli_shows_the_export_estimate_beside_each_reported_layer(tmp_path, capsys):
    root = berth_project(tmp_path / "prj", clock=5.0)
    report_folder(root)
    estimate = {"LUT": 1500, "FF": 3700, "DSP": 28, "BRAM_18K": 8}
    (root / "berth" / "cost.json").write_text(json.dumps({"per_layer": {"conv1": {"resources": estimate}}}))
    assert main(["hls", "report", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    conv = next(i for i, line in enumerate(lines) if line.startswith("conv_2d_cl_array_array_ap_fixed_8u_config2_s"))
    assert lines[conv].split()[1:] == ["conv1", "4624..23120", "1476", "3681", "30", "7"]
    assert lines[conv + 1].split() == ["estimated", "1500", "3700", "28", "8"]
    assert not any(line.startswith("WARNING") for line in lines)  # same part, same clock


def test_same_part_spelled_differently_at_the_same_clock_is_no_mismatch(tmp_path):
    root = berth_project(tmp_path / "prj", part="XC7Z020CLG400-1", clock=5.0)
    report_folder(root, axi=False)
    rep = report_project(root / "myproject_prj" / "solution1" / "syn" / "report")  # a report folder in a project
    assert rep.mismatch is None and rep.top["top"] == "myproject" and rep.top["config"] == "p42"
    assert "myproject" not in {m["module"] for m in rep.modules}
    other = parse_csynth_xml(root / "myproject_prj" / "solution1" / "syn" / "report" / "csynth.xml")
    assert "xcu250" in target_mismatch(other, "xcu250-figd2104-2L-e", 5.0)


def test_refiling_replaces_the_module_rows(tmp_path):
    root = berth_project(tmp_path / "prj")
    folder = report_folder(root)
    report_project(root)
    (folder / "relu_array_array_ap_fixed_8u_relu_config3_s_csynth.xml").unlink()
    report_project(root)
    with Store(root / "berth" / "results.sqlite") as store:
        assert len(store.query("hls_synth")) == 1 and len(store.query("hls_synth_modules")) == len(MODULES) - 1


def test_cli_reads_a_foreign_report_folder_or_file_into_a_given_store(tmp_path, capsys):
    folder = report_folder(tmp_path / "foreign")
    with pytest.raises(BerthError, match="not inside a berth HLS project: pass --store FILE"):
        report_project(folder)
    store_path = tmp_path / "results.sqlite"
    assert main(["hls", "report", str(folder / "csynth.xml"), "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("myproject_axi on xc7z020-clg400-1: latency 96019..96170 cycles")
    assert "OVER THE PART: BRAM_18K 289 of 280 (103%)" in out and "WARNING" not in out  # no project: no target to check
    assert "conv_2d_cl_array_array_ap_fixed_8u_config2_s" in out and "4 sub-module reports filed" in out
    with Store(store_path) as store:
        assert store.query("hls_synth")[0]["config"] == str(folder.resolve())
    assert main(["hls", "report", str(tmp_path / "nowhere"), "--store", str(store_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_real_axi_report_laid_into_a_project(tmp_path):
    """The public autoencoder's Vivado HLS 2019.2 report (tests/data/csynth/conv_autoencoder): its
    top is the AXI wrapper, synthesized at 5 ns for the project's part spelled another way, with
    more BRAM than the Zynq-7020 has."""
    root = berth_project(tmp_path / "prj")
    folder = root / "myproject_prj" / "solution1" / "syn" / "report"
    shutil.copytree(Path(__file__).parent / "data" / "csynth" / "conv_autoencoder", folder)
    rep = report_project(root)
    assert (rep.top["top"], rep.top["bram_18k"], rep.top["lut"], rep.top["latency_worst"]) == ("myproject_axi", 289, 35689, 96170)
    assert rep.over_use == ["BRAM_18K 289 of 280 (103%)"]
    assert "synthesized for xc7z020-clg400-1 at 5 ns, but the project targets xc7z020clg400-1 at 10 ns" in rep.mismatch
    assert len([m for m in rep.modules if m["module"].startswith("conv_2d_cl")]) == 7
    wrapped = next(m for m in rep.modules if m["module"] == "myproject")
    assert (wrapped["bram_18k"], wrapped["dsp"]) == (285, 118)


def test_top_choice_and_helpers(tmp_path):
    folder = report_folder(tmp_path / "a")
    (folder / "csynth.xml").unlink()
    (folder / "myproject_axi_csynth.xml").write_text(csynth("myproject_axi"))
    assert top_report(folder, "myproject").name == "myproject_axi_csynth.xml"  # no csynth.xml: the AXI wrapper
    (folder / "myproject_axi_csynth.xml").unlink()
    assert top_report(folder, "myproject").name == "myproject_csynth.xml"
    with pytest.raises(BerthError, match="no synthesis report of the top"):
        top_report(folder, "other")
    assert config_index("dense_array_array_ap_fixed_10u_config5_s") == 5 and config_index("Loop_1_proc") is None
    assert over_use({"resources": {"LUT": 10, "DSP": 3}, "available": {"LUT": 10, "DSP": 2}}) == ["DSP 3 of 2 (150%)"]


def test_a_real_vitis_report_lists_every_module_in_its_csynth_xml(tmp_path, capsys):
    """A public hls4ml project's Vitis HLS 2024.1 report (tests/data/csynth/vitis_conv1d) has no file
    per module: its csynth.xml lists them all (ModuleInformation), the interval as each module's II."""
    data = Path(__file__).parent / "data" / "csynth"
    folder = data / "vitis_conv1d"
    top = parse_csynth_xml(top_report(folder, "myproject"))
    assert (top["tool"], top["tool_version"], top["top"]) == ("Vitis HLS", "2024.1", "myproject")
    assert top["resources"]["DSP"] == 467
    assert parse_csynth_xml(data / "conv_autoencoder" / "csynth.xml")["tool"] == "Vivado HLS"
    modules = module_reports(folder, "myproject")
    assert len(modules) == 12 and "myproject" not in modules
    conv = modules["conv_1d_cl_array_ap_fixed_9u_array_ap_fixed_16_6_5_3_0_16u_config2_s"]
    assert (conv["resources"]["LUT"], conv["resources"]["FF"], conv["resources"]["DSP"]) == (11875, 3097, 370)
    assert (conv["latency_worst"], conv["interval_max"]) == (393, 390)
    assert conv["loops"]["ReadInputWidth"]["pipeline_ii"] == 3
    assert conv["part"] == "xcu250-figd2104-2L-e" and conv["available"]["DSP"] == 12288
    assert module_information(data / "conv_autoencoder" / "csynth.xml") == {}
    assert main(["hls", "report", str(folder), "--store", str(tmp_path / "results.sqlite")]) == 0
    assert "(12 sub-module reports filed)" in capsys.readouterr().out
    with Store(tmp_path / "results.sqlite") as store:
        rows = {m["module"]: m for m in store.query("hls_synth_modules")}
    assert rows["dense_array_ap_fixed_16u_array_ap_fixed_16_6_5_3_0_6u_config6_s"]["lut"] == 2505
