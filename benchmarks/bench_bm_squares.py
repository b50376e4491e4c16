"""Squares for the block matcher's column sums: in LUTs (as the core computes them) or two to a
DSP48E1 slice, as resources measured in one run.

A column sum of N1 = 8 squared differences, written both ways in ``bm_squares.sv``: the core's
``x^2 = 256 h^2 + 32 h l + l^2`` in LUTs, and ``(a 2^9 + b)(a 2^9 - b) = a^2 2^18 - b^2`` with the
four products summed along the DSP chain and split once. Yosys ``synth_xilinx -family xc7``
counts each; Icarus checks that the two give the same sums on 1 990 inputs (all-255 and all-0
among them; ``bm_squares_tb.sv``). Prints LUT, CARRY4, FF and DSP48E1 of each, the LUT ratio,
the LUTs saved per slice, and what 1080p30's 169 column sums per cycle (P = D = 13) would take
each way on a Zynq-7030. Tool logs stay in ``--work``.

Run: python benchmarks/bench_bm_squares.py [--work runs/bm/squares]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from berth.core.files import check_writable
from berth.core.tools import require_tool
from berth.hardware.blockmatch.synth import ZYNQ_7030, mapped_cells

SOURCE = Path(__file__).with_name("bm_squares.sv")
BENCH = Path(__file__).with_name("bm_squares_tb.sv")
LANES_1080P = 13 * 13  # column sums per cycle at P = D = 13


def _run(cmd: list[str], log: Path) -> str:
    """Run a tool, keep its output in ``log``, stop with the log's path if it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with exit status {proc.returncode}; see {log}")
    return proc.stdout


def cells(top: str, work: Path) -> dict[str, int]:
    """Mapped cells of one module: LUT (an INV is a LUT1), CARRY4, FF, DSP48E1."""
    stat = work / f"{top}.json"
    _run([str(require_tool("yosys")), "-q", "-p", f"read_verilog -sv {SOURCE}; synth_xilinx -family xc7 -flatten "
          f"-top {top}; tee -q -o {stat} stat -json"], work / f"{top}.log")
    c = mapped_cells(stat, top)
    return {"LUT": c["lut"], "CARRY4": c["carry4"], "FF": c["ff"], "DSP48E1": c["dsp"]}


def equal_sums(work: Path) -> str:
    """The Icarus bench's verdict line: both forms give the same column sums."""
    binary = work / "sq_tb.vvp"
    _run([str(require_tool("iverilog")), "-g2012", "-s", "sq_tb", "-o", str(binary), str(SOURCE), str(BENCH)], work / "iverilog.log")
    line = _run([str(require_tool("vvp")), "-n", str(binary)], work / "vvp.log").strip().splitlines()[-1]
    if not line.endswith("errors 0"):
        raise SystemExit(f"the two forms differ: {line}")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/bm/squares"), help="where the tools' logs go")
    try:
        work = check_writable(parser.parse_args().work)
    except OSError as exc:
        raise SystemExit(f"--work {exc.filename!r}: {exc.strerror}; need a folder that can be written") from None
    print(f"Icarus: {equal_sums(work)}", flush=True)
    lut, dsp = cells("sq_lut", work), cells("sq_dsp", work)
    print("\none column sum of 8 squares (Yosys synth_xilinx -family xc7)")
    print(f"{'form':<28} {'LUT':>6} {'CARRY4':>7} {'FF':>6} {'DSP48E1':>8}")
    for name, c in (("LUTs (the core)", lut), ("two squares per DSP48E1", dsp)):
        print(f"{name:<28} {c['LUT']:>6} {c['CARRY4']:>7} {c['FF']:>6} {c['DSP48E1']:>8}")
    saved = (lut["LUT"] - dsp["LUT"]) / dsp["DSP48E1"]
    print(f"LUT ratio {lut['LUT'] / dsp['LUT']:.1f}x; {saved:.0f} LUT saved per DSP48E1 slice")
    slices = LANES_1080P * dsp["DSP48E1"]
    print(f"1080p30 ({LANES_1080P} column sums a cycle): {LANES_1080P * lut['LUT']} LUT "
          f"({100 * LANES_1080P * lut['LUT'] / ZYNQ_7030['lut']:.0f} % of a Zynq-7030) for the squares and sums in LUTs, "
          f"or {slices} DSP48E1 ({100 * slices / ZYNQ_7030['dsp']:.0f} %) and {LANES_1080P * dsp['LUT']} LUT; "
          f"within 50 % of the DSP48E1 ({ZYNQ_7030['dsp'] // 2}), {ZYNQ_7030['dsp'] // 2 // dsp['DSP48E1']} column sums "
          f"on slices save {ZYNQ_7030['dsp'] // 2 // dsp['DSP48E1'] * (lut['LUT'] - dsp['LUT'])} LUT")


if __name__ == "__main__":
    main()
