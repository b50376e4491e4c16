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
from berth.hardware.blockmatch.vitis.report import parse_report_dir

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


SYNTH_TABLE = "hls_synth"
SYNTH_COLUMNS = {"kernel": "TEXT", "config": "TEXT", "tool": "TEXT", "part": "TEXT", "target_clock_ns": "REAL",
                 "estimated_clock_ns": "REAL", "latency_best": "INTEGER", "latency_worst": "INTEGER",
                 "interval_min": "INTEGER", "interval_max": "INTEGER", "sweep_ii": "INTEGER", "lut": "INTEGER",
                 "ff": "INTEGER", "bram_18k": "INTEGER", "dsp": "INTEGER", "uram": "INTEGER", "report": "JSON",
                 "finished": "TEXT"}


def store_synthesis(result: dict, store_path: str | Path) -> None:
    """Insert (or replace) one synthesis result in table ``hls_synth`` of a berth results store.

    The key is (kernel, config): config is the canonical JSON of the parameters, frame size,
    part and clock, so re-synthesising the same configuration replaces its row.
    """
    import json

    from berth.core.store import Store, now_utc

    res = result["resources"]
    config = json.dumps({"params": result["params"], "height": result["height"], "width": result["width"],
                         "part": result["part"], "clock_ns": result["target_clock_ns"]}, sort_keys=True)
    row = {"kernel": "blockmatch", "config": config, "tool": result.get("tool"), "part": result["part"],
           "target_clock_ns": result["target_clock_ns"], "estimated_clock_ns": result["estimated_clock_ns"],
           "latency_best": result["latency_best"], "latency_worst": result["latency_worst"],
           "interval_min": result["interval_min"], "interval_max": result["interval_max"],
           "sweep_ii": result.get("sweep_ii"), "lut": res.get("LUT"), "ff": res.get("FF"),
           "bram_18k": res.get("BRAM_18K"), "dsp": res.get("DSP"), "uram": res.get("URAM"), "report": result,
           "finished": now_utc()}
    with Store(store_path) as store:
        store.ensure_table(SYNTH_TABLE, SYNTH_COLUMNS, key=("kernel", "config"))
        store.insert(SYNTH_TABLE, row, on_conflict="replace")
