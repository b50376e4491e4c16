"""Vivado/Vitis HLS synthesis reports (``<top>_csynth.xml``) as plain numbers, and as rows of the
store's ``hls_synth`` table — one parser for every HLS flow (hls4ml projects and berth's kernels).

The XML layout is the one Vivado HLS and Vitis HLS write under
``<project>/solution1/syn/report/``: ``UserAssignments`` (part, top, target clock),
``PerformanceEstimates`` (estimated clock, overall latency and interval, per-loop latency with
``PipelineII``), ``AreaEstimates/Resources`` (BRAM_18K, DSP or DSP48E, FF, LUT, URAM). Latencies
the tool cannot bound are written "undef" and come back as None.

A report folder holds one report per synthesized function: the design's top (also written as
``csynth.xml``) and every sub-module it instantiates (for hls4ml, one per layer instance, e.g.
``dense_latency_..._config4_s_csynth.xml``). Vitis HLS (its 2022.2 and 2024.1 reports here) also writes every module's
estimates into ``csynth.xml`` itself (``ModuleInformation``, beside the instance tree
``RTLDesignHierarchy``), so its ``csynth.xml`` alone holds the per-module figures. ``top_report``
picks the design's top (an AXI wrapper when one was synthesized), ``module_reports`` the rest (from
the per-module files, else from ``csynth.xml``); ``over_use`` and ``target_mismatch`` say what a
reader must not miss. A report says which tool wrote it: Vitis HLS records a ``FlowTarget``, Vivado
HLS does not.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from berth.core.errors import BerthError

RESOURCES = ("LUT", "FF", "BRAM_18K", "DSP", "URAM")
_LOOP_FIELDS = {"TripCount": "trip_count", "Latency": "latency", "IterationLatency": "iteration_latency",
                "PipelineII": "pipeline_ii", "PipelineDepth": "pipeline_depth"}


def _number(text: str | None) -> float | int | None:
    """An int or float from report text; None for missing, "undef" or "-"."""
    if text is None:
        return None
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _loops(node: ET.Element | None, prefix: str = "") -> dict[str, dict]:
    """Loops under ``SummaryOfLoopLatency`` (nested loops as ``OUTER/INNER``)."""
    out: dict[str, dict] = {}
    if node is None:
        return out
    for loop in node:
        if loop.find("TripCount") is None and loop.find("Latency") is None:
            continue
        name = prefix + loop.tag
        out[name] = {key: _number(loop.findtext(tag)) for tag, key in _LOOP_FIELDS.items()}
        out.update(_loops(loop, name + "/"))
    return out


def _resources(node: ET.Element | None) -> dict[str, int | None]:
    if node is None:
        return {}
    values = {child.tag: _number(child.text) for child in node}
    if "DSP" not in values and "DSP48E" in values:
        values["DSP"] = values["DSP48E"]
    return {name: values.get(name) for name in RESOURCES}


def _get(node: ET.Element | None, tag: str):
    return _number(node.findtext(tag)) if node is not None else None


def _figures(node: ET.Element, path: Path, top: str | None, header: dict) -> dict:
    """The parsed form of one module's estimates: ``node`` is a report's ``profile`` or one
    ``ModuleInformation/Module`` of a Vitis HLS ``csynth.xml`` (same layout below it); ``header``
    holds what only the report's head says (tool, part, target clock, the part's resources)."""
    perf = node.find("PerformanceEstimates")
    overall = perf.find("SummaryOfOverallLatency") if perf is not None else None
    loops = _loops(perf.find("SummaryOfLoopLatency") if perf is not None else None)
    iis = [v["pipeline_ii"] for v in loops.values() if v["pipeline_ii"] is not None]
    interval = [_get(overall, "Interval-min"), _get(overall, "Interval-max")]
    if interval == [None, None]:  # a Vitis module list gives the interval as the module's II only
        interval = [_get(overall, "PipelineInitiationInterval")] * 2
    return {
        "report": str(path),
        "tool": header["tool"],
        "tool_version": header["tool_version"],
        "top": top,
        "part": header["part"],
        "target_clock_ns": header["target_clock_ns"],
        "estimated_clock_ns": _get(perf.find("SummaryOfTimingAnalysis") if perf is not None else None,
                                   "EstimatedClockPeriod"),
        "latency_best": _get(overall, "Best-caseLatency"),
        "latency_avg": _get(overall, "Average-caseLatency"),
        "latency_worst": _get(overall, "Worst-caseLatency"),
        "interval_min": interval[0],
        "interval_max": interval[1],
        "loops": loops,
        "max_pipeline_ii": max(iis) if iis else None,
        "resources": _resources(node.find("AreaEstimates/Resources")),
        "available": header["available"],
    }


def _profile(path: Path) -> ET.Element:
    """The root of a csynth.xml report; a one-line error when it is unreadable or not one."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise BerthError(f"cannot read synthesis report {str(path)!r}: {exc}") from None
    if root.tag != "profile" or root.find("PerformanceEstimates") is None:
        raise BerthError(f"{str(path)!r} is not a Vivado/Vitis HLS csynth.xml report (no profile/PerformanceEstimates)")
    return root


def _header(root: ET.Element) -> dict:
    user = root.find("UserAssignments")
    return {"tool": "Vitis HLS" if user is not None and user.find("FlowTarget") is not None else "Vivado HLS",
            "tool_version": (root.findtext("ReportVersion/Version") or "").strip() or None,
            "part": (user.findtext("Part") or "").strip() if user is not None else None,
            "target_clock_ns": _get(user, "TargetClockPeriod"),
            "available": _resources(root.find("AreaEstimates/AvailableResources"))}


def parse_csynth_xml(path: str | Path) -> dict:
    """Latency, interval, loop IIs, clock, resources and tool (Vivado or Vitis HLS) of one
    ``*_csynth.xml`` report."""
    path = Path(path)
    root = _profile(path)
    user = root.find("UserAssignments")
    top = (user.findtext("TopModelName") or "").strip() if user is not None else None
    return _figures(root, path, top, _header(root))


def module_information(path: str | Path) -> dict[str, dict]:
    """``{module: parsed figures}`` of every module a Vitis HLS ``csynth.xml`` lists under
    ``ModuleInformation`` (the same keys as ``parse_csynth_xml``); empty for a Vivado HLS report."""
    path = Path(path)
    root = _profile(path)
    header = _header(root)
    return {name: _figures(module, path, name, header) for module in root.iterfind("ModuleInformation/Module")
            if (name := (module.findtext("Name") or "").strip())}


def parse_report_dir(report_dir: str | Path, top: str) -> dict:
    """The top's report plus the loops of every sub-module report in the same folder.

    Loops of sub-modules (e.g. the candidate sweep of ``match_row``, which is not inlined) are
    listed as ``module:LOOP``; ``sweep_ii`` is the achieved II of the candidate sweep.
    """
    report_dir = Path(report_dir)
    top_xml = report_dir / f"{top}_csynth.xml"
    if not top_xml.is_file():
        raise BerthError(f"no synthesis report {str(top_xml)!r}; did csynth_design run? (see the tool's log)")
    result = parse_csynth_xml(top_xml)
    for sub in sorted(report_dir.glob("*_csynth.xml")):
        if sub == top_xml:
            continue
        module = sub.name[: -len("_csynth.xml")]
        for name, loop in parse_csynth_xml(sub)["loops"].items():
            result["loops"][f"{module}:{name}"] = loop
    sweeps = [v["pipeline_ii"] for k, v in result["loops"].items() if "SWEEP" in k and v["pipeline_ii"] is not None]
    result["sweep_ii"] = max(sweeps) if sweeps else None
    return result


def synth_row(report: dict[str, Any], design: str, config: str, path: str | Path, tool: str | None = None) -> dict:
    """The ``hls_synth`` row of a parsed report (see ``berth.core.schemas``): ``design`` names the
    flow or kernel, ``config`` what was synthesized (re-synthesizing it replaces the row)."""
    from berth.core.store import now_utc

    res = report["resources"]
    return {"design": design, "config": config, "path": str(Path(path).resolve()), "tool": tool,
            "top": report["top"], "part": report["part"], "target_clock_ns": report["target_clock_ns"],
            "estimated_clock_ns": report["estimated_clock_ns"], "latency_best": report["latency_best"],
            "latency_worst": report["latency_worst"], "interval_min": report["interval_min"],
            "interval_max": report["interval_max"], "max_pipeline_ii": report["max_pipeline_ii"],
            "lut": res.get("LUT"), "ff": res.get("FF"), "dsp": res.get("DSP"), "bram_18k": res.get("BRAM_18K"),
            "uram": res.get("URAM"), "available": report["available"], "report": report, "finished": now_utc()}


SUFFIX = "_csynth.xml"


def top_report(report_dir: str | Path, default_top: str) -> Path:
    """The report of the synthesized top in ``report_dir``: the top that ``csynth.xml`` names, else an
    AXI wrapper (``*_axi_csynth.xml``), else ``<default_top>_csynth.xml``."""
    report_dir = Path(report_dir)
    summary = report_dir / "csynth.xml"
    if summary.is_file():
        top = parse_csynth_xml(summary)["top"]
        named = report_dir / f"{top}{SUFFIX}"
        return named if named.is_file() else summary
    axi = sorted(report_dir.glob(f"*_axi{SUFFIX}"))
    if axi:
        return axi[0]
    named = report_dir / f"{default_top}{SUFFIX}"
    if not named.is_file():
        raise BerthError(f"no synthesis report of the top in {str(report_dir)!r} (no csynth.xml, *_axi{SUFFIX} "
                         f"or {default_top}{SUFFIX}); did csynth_design run?")
    return named


def module_reports(report_dir: str | Path, top: str) -> dict[str, dict]:
    """``{module: parsed report}`` of every sub-module beside the top, by module name: from the
    per-module ``*_csynth.xml`` files, and from ``csynth.xml``'s module list (Vitis HLS) for any
    module without a file of its own."""
    report_dir = Path(report_dir)
    summary = report_dir / "csynth.xml"
    out = module_information(summary) if summary.is_file() else {}
    for path in sorted(report_dir.glob(f"*{SUFFIX}")):
        out[path.name[: -len(SUFFIX)]] = parse_csynth_xml(path)
    out.pop(top, None)
    return out


def over_use(report: dict) -> list[str]:
    """One entry per resource the report uses beyond what its part has (e.g. "BRAM_18K 289 of 280 (103%)")."""
    out = []
    for name, used in report["resources"].items():
        have = report["available"].get(name)
        if used is not None and have and used > have:
            out.append(f"{name} {used} of {have} ({100 * used / have:.0f}%)")
    return out


def _part_key(part: str | None) -> str:
    """A part name without case or separators: ``xc7z020-clg400-1`` and ``xc7z020clg400-1`` are one part."""
    return re.sub(r"[^a-z0-9]", "", (part or "").lower())


def target_mismatch(report: dict, part: str, clock_ns: float) -> str | None:
    """One line when the report was synthesized for another part or clock than ``part`` at ``clock_ns``."""
    other_part = _part_key(report["part"]) != _part_key(part)
    other_clock = report["target_clock_ns"] is not None and abs(float(report["target_clock_ns"]) - clock_ns) > 1e-9
    if not (other_part or other_clock):
        return None
    clock = report["target_clock_ns"]
    return (f"the report was synthesized for {report['part']} at {clock if clock is None else f'{clock:g}'} ns, but the "
            f"project targets {part} at {clock_ns:g} ns: its figures are not this target's")


def config_index(module: str) -> int | None:
    """hls4ml's layer index in a module name (``..._config4_s`` → 4), None when there is none."""
    found = re.findall(r"config(\d+)", module)
    return int(found[-1]) if found else None


def module_row(report: dict, design: str, config: str, module: str, layer: str | None) -> dict:
    """The ``hls_synth_modules`` row of one sub-module's parsed report (``layer``: the model layer it
    implements, when known)."""
    res = report["resources"]
    return {"design": design, "config": config, "module": module, "layer": layer, "path": report["report"],
            "latency_best": report["latency_best"], "latency_worst": report["latency_worst"],
            "interval_min": report["interval_min"], "interval_max": report["interval_max"],
            "max_pipeline_ii": report["max_pipeline_ii"], "lut": res.get("LUT"), "ff": res.get("FF"),
            "dsp": res.get("DSP"), "bram_18k": res.get("BRAM_18K"), "uram": res.get("URAM"), "loops": report["loops"]}
