"""Vendor HLS synthesis when installed: ``build_project`` runs it, ``report_project`` reads it.

``build`` runs the project's ``build_prj.tcl`` with the backend's tool — ``vitis-run`` (Vitis ≥
2023.1) for the Vitis backend, ``vivado_hls`` for the Vivado backend — with a checked return code
and the log path in the error. Without the tool it says exactly which one is missing. ``report``
parses ``<prj>/solution*/syn/report/<top>_csynth.xml`` offline (``berth.hardware.vitis_report``)
and stores it in the results store.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from berth.core.errors import BerthError
from berth.core.files import atomic_write_text
from berth.core.tools import env_var, find_tool
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.vitis_report import parse_csynth_xml

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
    """The synthesis report of the project (first solution), or a BerthError saying to build first."""
    top = project.meta["top"]
    found = sorted(project.root.glob(f"*_prj/solution*/syn/report/{top}_csynth.xml"))
    if not found:
        raise BerthError(f"no synthesis report {top}_csynth.xml under {project.root}: run 'berth hls build' first")
    return found[0]


def report_project(project: HlsProject | str, store_path: str | Path | None = None) -> dict:
    """Parse the project's synthesis report and store it (table ``hls_synth``); returns the row."""
    from berth.hardware.hls4ml.results import store_synth

    project = project if isinstance(project, HlsProject) else HlsProject.load(project)
    xml = find_csynth_xml(project)
    return store_synth(project, parse_csynth_xml(xml), xml, store_path)
