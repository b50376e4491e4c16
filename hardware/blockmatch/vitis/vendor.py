"""Run the vendor HLS flow on a generated project when the tool is installed, parse its report.

``vitis-run`` (Vitis >= 2023.2, ``--mode hls --tcl``) is preferred, then ``vitis_hls`` (``-f``).
When neither is on PATH (or set through ``BERTH_VITIS_RUN`` / ``BERTH_VITIS_HLS``) the error says
exactly which tools were looked for and how to get them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from berth.core.errors import BerthError
from berth.core.files import atomic_write_json
from berth.core.tools import INSTALL_HINTS, env_var, find_tool
from berth.hardware.blockmatch.vitis.project import TOP, load_project
from berth.hardware.vitis_report import parse_report_dir, synth_row

TOOLS = ("vitis-run", "vitis_hls")


def find_hls_tool() -> tuple[str, Path] | None:
    """(name, path) of the first vendor HLS tool found, or None."""
    for name in TOOLS:
        path = find_tool(name)
        if path is not None and path.exists():
            return name, path
    return None


def missing_message() -> str:
    """One line naming the tools looked for and how to provide them."""
    return ("HLS synthesis needs 'vitis-run' or 'vitis_hls' on PATH, neither was found "
            f"(set {env_var('vitis-run')} / {env_var('vitis_hls')} or {INSTALL_HINTS['vitis-run']})")


def run_synthesis(project: str | Path, steps: str = "csynth") -> dict:
    """Run ``steps`` of ``run_hls.tcl`` with the vendor tool; parse and store the csynth report."""
    project = Path(project)
    record = load_project(project)
    found = find_hls_tool()
    if found is None:
        raise BerthError(missing_message())
    name, tool = found
    cmd = [str(tool), "--mode", "hls", "--tcl", "run_hls.tcl"] if name == "vitis-run" else [str(tool), "-f", "run_hls.tcl"]
    log = project / "results" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=project, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "BERTH_HLS_STEPS": steps}).returncode
    if rc != 0:
        raise BerthError(f"{name} failed (exit {rc}) on {project} (log: {log})")
    result = parse_report_dir(project / "prj" / "solution1" / "syn" / "report", record.get("top", TOP))
    result.update(tool=name, steps=steps, params=record["params"], height=record["height"], width=record["width"])
    atomic_write_json(project / "results" / "csynth.json", result)
    return result


def store_synthesis(result: dict, store_path: str | Path) -> None:
    """Insert (or replace) one synthesis result in table ``hls_synth`` of a berth results store.

    The configuration key is the canonical JSON of the parameters, frame size, part and clock,
    so re-synthesising the same configuration replaces its row.
    """
    import json

    from berth.core.store import Store

    config = json.dumps({"params": result["params"], "height": result["height"], "width": result["width"],
                         "part": result["part"], "clock_ns": result["target_clock_ns"]}, sort_keys=True)
    row = synth_row(result, "blockmatch", config, result["report"], result.get("tool"))
    with Store(store_path) as store:
        store.insert("hls_synth", row, on_conflict="replace")
