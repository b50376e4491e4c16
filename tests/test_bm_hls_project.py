"""HLS project generator, synthesis-report parser and vendor flow (no g++ or vendor tool needed).

The report fixture is written in the layout Vitis HLS uses for ``<top>_csynth.xml``; a fake
``vitis_hls`` on PATH that writes such reports exercises the whole synthesis path.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.hardware.blockmatch import BMParams
from berth.hardware.blockmatch.vitis import parse_csynth_xml, write_project
from berth.hardware.blockmatch.vitis import project as project_mod
from berth.hardware.vitis_report import parse_report_dir
from berth.hardware.blockmatch.vitis.vendor import run_synthesis, store_synthesis

TOP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>zynq</ProductFamily><Part>xc7z030-sbg485-1</Part>
    <TopModelName>blockmatch_top</TopModelName><TargetClockPeriod>4.00</TargetClockPeriod>
    <ClockUncertainty>1.08</ClockUncertainty><FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>no</PipelineType>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>2.920</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit>
      <Best-caseLatency>2695</Best-caseLatency><Average-caseLatency>undef</Average-caseLatency>
      <Worst-caseLatency>12345678</Worst-caseLatency>
      <Best-caseRealTimeLatency>10.780 us</Best-caseRealTimeLatency>
      <Interval-min>2696</Interval-min><Interval-max>12345679</Interval-max>
    </SummaryOfOverallLatency>
    <SummaryOfLoopLatency>
      <ROWS>
        <Name>ROWS</Name><Slack>2.92</Slack><TripCount>40</TripCount><Latency>undef</Latency>
        <AbsoluteTimeLatency>undef</AbsoluteTimeLatency><IterationLatency>undef</IterationLatency>
        <InstanceList/>
        <READ>
          <Name>READ</Name><Slack>2.92</Slack><TripCount>56</TripCount><Latency>57</Latency>
          <AbsoluteTimeLatency>228.000</AbsoluteTimeLatency><PipelineII>1</PipelineII>
          <PipelineDepth>3</PipelineDepth><InstanceList/>
        </READ>
      </ROWS>
    </SummaryOfLoopLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>14</BRAM_18K><DSP>0</DSP><FF>5210</FF><LUT>9876</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>530</BRAM_18K><DSP>400</DSP><FF>157200</FF><LUT>78600</LUT><URAM>0</URAM></AvailableResources>
  </AreaEstimates>
</profile>
"""

SUB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments><TopModelName>match_row</TopModelName><TargetClockPeriod>4.00</TargetClockPeriod></UserAssignments>
  <PerformanceEstimates>
    <SummaryOfOverallLatency><Best-caseLatency>-</Best-caseLatency></SummaryOfOverallLatency>
    <SummaryOfLoopLatency>
      <REFS><TripCount>undef</TripCount><Latency>undef</Latency>
        <DY><TripCount>undef</TripCount><Latency>undef</Latency>
          <SWEEP><TripCount>undef</TripCount><Latency>undef</Latency><PipelineII>1</PipelineII><PipelineDepth>9</PipelineDepth></SWEEP>
        </DY>
      </REFS>
    </SummaryOfLoopLatency>
  </PerformanceEstimates>
  <AreaEstimates><Resources><BRAM_18K>0</BRAM_18K><DSP48E>2</DSP48E><FF>3000</FF><LUT>7000</LUT></Resources></AreaEstimates>
</profile>
"""


def write_reports(report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "blockmatch_top_csynth.xml").write_text(TOP_XML)
    (report_dir / "match_row_8_csynth.xml").write_text(SUB_XML)


def test_parse_top_report(tmp_path):
    write_reports(tmp_path)
    r = parse_csynth_xml(tmp_path / "blockmatch_top_csynth.xml")
    assert r["top"] == "blockmatch_top" and r["part"] == "xc7z030-sbg485-1" and r["tool_version"] == "2023.2"
    assert r["target_clock_ns"] == 4.0 and r["estimated_clock_ns"] == 2.92
    assert (r["latency_best"], r["latency_avg"], r["latency_worst"]) == (2695, None, 12345678)
    assert (r["interval_min"], r["interval_max"]) == (2696, 12345679)
    assert r["resources"] == {"LUT": 9876, "FF": 5210, "BRAM_18K": 14, "DSP": 0, "URAM": 0}
    assert r["available"]["LUT"] == 78600
    assert r["loops"]["ROWS/READ"]["pipeline_ii"] == 1 and r["loops"]["ROWS"]["latency"] is None
    assert r["max_pipeline_ii"] == 1


def test_parse_report_dir_merges_submodule_loops_and_old_dsp_name(tmp_path):
    write_reports(tmp_path)
    r = parse_report_dir(tmp_path, "blockmatch_top")
    assert r["loops"]["match_row_8:REFS/DY/SWEEP"]["pipeline_ii"] == 1 and r["sweep_ii"] == 1
    assert parse_csynth_xml(tmp_path / "match_row_8_csynth.xml")["resources"]["DSP"] == 2


def test_bad_reports(tmp_path):
    (tmp_path / "x.xml").write_text("<html/>")
    with pytest.raises(BerthError, match="not a Vivado/Vitis HLS csynth.xml"):
        parse_csynth_xml(tmp_path / "x.xml")
    (tmp_path / "y.xml").write_text("not xml <")
    with pytest.raises(BerthError, match="cannot read synthesis report"):
        parse_csynth_xml(tmp_path / "y.xml")
    with pytest.raises(BerthError, match="did csynth_design run"):
        parse_report_dir(tmp_path, "blockmatch_top")


IMG = (np.arange(24 * 32).reshape(24, 32) % 251).astype(np.uint8)


def test_project_is_complete(tmp_path):
    out = write_project(tmp_path / "prj", BMParams(window=7, k=8), IMG)
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"src/blockmatch.h", "src/blockmatch_top.h", "src/blockmatch_top.cpp", "src/params.h",
            "tb/tb_blockmatch.cpp", "tb/input.pgm", "run_hls.tcl", "build_csim.sh", "README.md",
            "berth_project.json"} <= names
    params_h = (out / "src" / "params.h").read_text()
    assert "#define BM_H 24" in params_h and "#define BM_K 8" in params_h and "#define BM_SAD false" in params_h
    tcl = (out / "run_hls.tcl").read_text()
    for step in ("csim_design", "csynth_design", "cosim_design", "export_design", "set_part {xc7z030sbg485-1}"):
        assert step in tcl
    assert (out / "tb" / "input.pgm").read_bytes().endswith(IMG.tobytes())
    assert json.loads((out / "berth_project.json").read_text())["params"]["window"] == 7


def test_output_dir_rules(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(BerthError, match="exists and is not a berth project"):
        write_project(foreign, BMParams(), IMG)
    assert (foreign / "keep.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(BerthError, match="not a berth project"):
        write_project(tmp_path / "file", BMParams(), IMG)
    out = write_project(tmp_path / "prj", BMParams(k=8), IMG)
    write_project(out, BMParams(k=16), IMG)  # a berth project is replaced
    assert "#define BM_K 16" in (out / "src" / "params.h").read_text()


def test_never_half_written(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(project_mod, "write_pgm", boom)
    with pytest.raises(OSError):
        write_project(tmp_path / "prj", BMParams(), IMG)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("image, msg", [(IMG.astype(np.uint16), "dtype uint16"), (IMG[:3, :3], "smaller than"),
                                        (np.zeros((4, 4, 3), np.uint8), "shape")])
def test_bad_images(tmp_path, image, msg):
    with pytest.raises(BerthError, match=msg):
        write_project(tmp_path / "prj", BMParams(), image)
    assert not (tmp_path / "prj").exists()


def test_missing_vendor_tool_is_named(tmp_path, monkeypatch):
    out = write_project(tmp_path / "prj", BMParams(), IMG)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for var in ("BERTH_VITIS_RUN", "BERTH_VITIS_HLS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.executable", str(tmp_path / "empty" / "python"))
    with pytest.raises(BerthError, match="'vitis-run' or 'vitis_hls'.*BERTH_VITIS_RUN"):
        run_synthesis(out)


def test_synthesis_with_fake_vendor_tool(tmp_path, monkeypatch):
    """A stand-in vitis_hls that writes the fixture reports: results/csynth.json gets the numbers."""
    out = write_project(tmp_path / "prj", BMParams(window=7, k=8), IMG)
    fixtures = tmp_path / "fixtures"
    write_reports(fixtures)
    fake = tmp_path / "bin" / "vitis_hls"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n[ \"$1\" = -f ] && [ \"$BERTH_HLS_STEPS\" = csynth ] || exit 3\n"
                    "mkdir -p prj/solution1/syn/report\n"
                    f"cp {fixtures}/*.xml prj/solution1/syn/report/\necho synthesis done\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("BERTH_VITIS_HLS", str(fake))
    monkeypatch.delenv("BERTH_VITIS_RUN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty") + os.pathsep + "/usr/bin:/bin")
    monkeypatch.setattr("sys.executable", str(tmp_path / "empty" / "python"))
    result = run_synthesis(out)
    stored = json.loads((out / "results" / "csynth.json").read_text())
    assert stored["resources"]["LUT"] == 9876 == result["resources"]["LUT"]
    assert stored["sweep_ii"] == 1 and stored["tool"] == "vitis_hls" and stored["params"]["k"] == 8
    from berth.core.store import Store

    store_synthesis(result, tmp_path / "results.sqlite")
    store_synthesis(result, tmp_path / "results.sqlite")  # same configuration: replaced, not duplicated
    with Store(tmp_path / "results.sqlite") as store:
        rows = store.query("hls_synth")
    assert len(rows) == 1 and rows[0]["lut"] == 9876 and rows[0]["latency_best"] == 2695
    assert rows[0]["report"]["resources"]["BRAM_18K"] == 14
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 7\n")
    with pytest.raises(BerthError, match=r"vitis_hls failed \(exit 7\).*log:"):
        run_synthesis(out)
