"""Vendor HLS synthesis when installed: ``build_project`` runs it, ``report_project`` reads it.

``build`` runs the project's ``build_prj.tcl`` with the backend's tool — ``vitis-run`` (Vitis ≥
2023.1) for the Vitis backend, ``vivado_hls`` for the Vivado backend — with a checked return code
and the log path in the error. Without the tool it says exactly which one is missing. ``report``
reads a project's ``<prj>/solution*/syn/report/`` (or any report folder or ``*_csynth.xml``) offline
(``berth.hardware.vitis_report``): the synthesized top (the AXI wrapper when there is one) and
every layer instance, checked against the project's part and clock and for resources over the
part, all stored in the results store.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from berth.core.errors import BerthError
from berth.core.files import atomic_write_text
from berth.core.tools import env_var, find_tool
from berth.hardware.hls4ml.project import META_DIR, HlsProject
from berth.hardware.vitis_report import (config_index, module_reports, over_use, parse_csynth_xml, target_mismatch,
                                         top_report)

TOOLS = {"Vitis": "vitis-run", "Vivado": "vivado_hls"}
BUILD_STEPS = ("reset", "csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")


def build_command(backend: str, tool: Path, synth_only: dict[str, int]) -> list[str]:
    """The command line that runs synthesis for ``backend``."""
    if backend == "Vitis":
        return [str(tool), "--tcl", "build_prj.tcl", "--mode", "hls"]
    opts = " ".join(f"{k}={v}" for k, v in synth_only.items())
    return [str(tool), "-f", "build_prj.tcl", opts]


def build_project(project: HlsProject | str) -> Path:
    """Run C synthesis of the project; returns the csynth.xml path. BerthError when the tool is missing or fails."""
    project = project if isinstance(project, HlsProject) else HlsProject.load(project)
    backend = project.target.backend
    name = TOOLS[backend]
    tool = find_tool(name)
    if tool is None:
        other = [t for b, t in TOOLS.items() if b != backend and find_tool(t)]
        hint = f" ({other[0]} is installed: export with target.backend = \"Vivado\")" if other else ""
        raise BerthError(f"synthesis needs {name!r} on PATH for the {backend} backend (or set {env_var(name)}); "
                         f"not found{hint}. C simulation (verify, inject) works without it")
    steps = {k: 0 for k in BUILD_STEPS} | {"synth": 1}
    atomic_write_text(project.root / "build_opt.tcl",
                      "array set opt {\n" + "".join(f"    {k} {v}\n" for k, v in steps.items()) + "}\n")
    log = project.logs / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        ret = subprocess.run(build_command(backend, tool, steps), cwd=project.root, stdout=f, stderr=subprocess.STDOUT)
    if ret.returncode != 0:
        raise BerthError(f"{name} failed (exit {ret.returncode}); log: {log}")
    return find_csynth_xml(project)


def find_csynth_xml(project: HlsProject) -> Path:
    """The synthesis report of the project's synthesized top (first solution), or a BerthError saying to build first."""
    found = sorted(project.root.glob("*_prj/solution*/syn/report"))
    if not found:
        raise BerthError(f"no synthesis report under {project.root}: run 'berth hls build' first")
    return top_report(found[0], project.meta["top"])


@dataclass
class SynthReport:
    """A filed synthesis report: the top's ``hls_synth`` row, one ``hls_synth_modules`` row per
    sub-module, and what its reader must not miss (another part or clock, resources over the part)."""

    top: dict
    modules: list[dict]
    mismatch: str | None
    over_use: list[str]
    estimates: dict[str, dict[str, int]]  # the project's tool-free estimate per layer (cost.json), if any


def project_above(path: Path) -> HlsProject | None:
    """The berth project ``path`` is in (itself or a folder above it), None when there is none."""
    for folder in [path, *path.parents]:
        if (folder / META_DIR / "project.json").is_file():
            return HlsProject.load(folder)
    return None


def locate(path: str | Path) -> tuple[HlsProject | None, Path]:
    """(the berth project, the top's report) of a project folder, a report folder or a csynth.xml."""
    path = Path(path)
    if not path.exists():
        raise BerthError(f"{str(path)!r} does not exist: give a berth HLS project, a report folder "
                         "(<prj>/solution1/syn/report) or a *_csynth.xml file")
    project = project_above(path.resolve())
    if path.is_file():
        return project, path
    if project is not None and path.resolve() == project.root.resolve():
        return project, find_csynth_xml(project)
    return project, top_report(path, project.meta["top"] if project else "myproject")


def layer_names(project: HlsProject | None) -> dict[int, str]:
    """``{hls4ml layer index: layer name}`` (berth's name for a weight layer) of a berth project."""
    if project is None:
        return {}
    berth_name = {c["hls_layer"]: name for name, c in project.meta.get("layer_config", {}).items()}
    return {int(i): berth_name.get(n, n) for i, n in project.meta.get("hls_layer_index", {}).items()}


def report_project(path: HlsProject | str | Path, store_path: str | Path | None = None) -> SynthReport:
    """Parse the synthesis report of a project (or of a report folder or file) with every sub-module
    report beside it, check it against the project's target, and store it (tables ``hls_synth``
    and ``hls_synth_modules``)."""
    from berth.hardware.hls4ml.results import store_synth

    if isinstance(path, HlsProject):
        project, xml = path, find_csynth_xml(path)
    else:
        project, xml = locate(path)
    if project is None and store_path is None:
        raise BerthError(f"{str(path)!r} is not inside a berth HLS project: pass --store FILE to file its report")
    top = parse_csynth_xml(xml)
    target = project.target if project else None
    mismatch = target_mismatch(top, target.part, target.clock_period) if target else None
    over = over_use(top)
    config = project.meta["project_id"] if project else str(xml.parent.resolve())
    names = layer_names(project)
    modules = {name: (report, names.get(config_index(name))) for name, report in
               module_reports(xml.parent, top["top"]).items()}
    top = {**top, "mismatch": mismatch, "over_use": over}
    row, module_rows = store_synth(project, config, top, modules, xml, store_path)
    return SynthReport(row, module_rows, mismatch, over, estimates(project))


def estimates(project: HlsProject | None) -> dict[str, dict[str, int]]:
    """``{layer: LUT/FF/DSP/BRAM_18K}`` the project's ``cost.json`` estimated at export (empty if none)."""
    import json

    path = project.berth_dir / "cost.json" if project else None
    if path is None or not path.is_file():
        return {}
    per_layer = json.loads(path.read_text()).get("per_layer", {})
    return {name: v["resources"] for name, v in per_layer.items() if "resources" in v}
