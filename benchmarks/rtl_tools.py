"""Tool runs shared by the benchmark scripts that measure small Verilog blocks: Yosys cell counts
and an Icarus bench's verdict (run them as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from berth.core.files import check_writable

from berth.core.tools import require_tool
from berth.hardware.blockmatch.netlist import Netlist
from berth.hardware.blockmatch.synth import mapped_cells
from berth.hardware.blockmatch.timing import CriticalPath, critical_path


def work_folder(description: str, default: str) -> Path:
    """The benchmark's ``--work`` folder (where tool logs go), parsed and writable."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--work", type=Path, default=Path(default), help="where the tools' logs go")
    try:
        return check_writable(parser.parse_args().work)
    except OSError as exc:
        raise SystemExit(f"--work {exc.filename!r}: {exc.strerror}; need a folder that can be written") from None


def run_tool(cmd: list[str], log: Path) -> str:
    """Run a tool, keep its output in ``log``, stop with the log's path if it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with exit status {proc.returncode}; see {log}")
    return proc.stdout


def cells(source: Path, top: str, work: Path, chparam: str = "") -> tuple[dict[str, int], CriticalPath]:
    """Mapped cells of module ``top`` of ``source`` (Yosys ``synth_xilinx -family xc7``): LUT (an
    INV is a LUT1), CARRY4, FF, DSP48E1; and its longest register-to-register path in the core's
    delay model (``berth.hardware.blockmatch.timing``). ``chparam`` e.g. ``-set S 15``."""
    stat, netlist = work / f"{top}.json", work / f"{top}-netlist.json"
    set_params = f"chparam {chparam} {top}; " if chparam else ""
    run_tool([str(require_tool("yosys")), "-q", "-p", f"read_verilog -sv {source}; {set_params}synth_xilinx -family xc7 "
              f"-flatten -top {top}; tee -q -o {stat} stat -json; write_json {netlist}"], work / f"{top}.log")
    c = mapped_cells(stat, top)
    path = critical_path(Netlist.load(netlist, top))
    netlist.unlink()
    return {"LUT": c["lut"], "CARRY4": c["carry4"], "FF": c["ff"], "DSP48E1": c["dsp"]}, path


def icarus_verdict(sources: list[Path], top: str, work: Path, defines: dict[str, int] | None = None) -> str:
    """The last line an Icarus bench prints (``defines``: its `` `NAME `` macros); it must end with
    ``errors 0``."""
    binary = work / f"{top}.vvp"
    macros = [f"-D{name}={value}" for name, value in (defines or {}).items()]
    run_tool([str(require_tool("iverilog")), "-g2012", *macros, "-s", top, "-o", str(binary), *map(str, sources)],
             work / f"{top}-iverilog.log")
    line = run_tool([str(require_tool("vvp")), "-n", str(binary)], work / f"{top}-vvp.log").strip().splitlines()[-1]
    if not line.endswith("errors 0"):
        raise SystemExit(f"the bench {top} failed: {line}")
    return line
