"""Synthesis estimates of the block-matching core with Yosys ``synth_xilinx -family xc7``.

Counts are Yosys's technology-mapped cells for a 7-series part (no place and route): LUTs (an INV
is a LUT1), flip-flops, CARRY4 chains, block RAM (as RAMB36 equivalents) and DSP48E1 slices, and the longest
register-to-register path of the same flattened netlist in LUT levels, CARRY4 stages and the
nanoseconds of :mod:`berth.hardware.blockmatch.timing`'s delay model, and the same counts per
section of the source (:mod:`berth.hardware.blockmatch.breakdown`). Yosys versions differ by
~25 %, so the version is stored with the figures and tests assert ranges. :func:`ice40_fmax`
places and routes a small configuration on an iCE40 with nextpnr for a real (relative) Fmax.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from berth.core.errors import BerthError
from berth.core.tools import require_tool
from berth.hardware.blockmatch.breakdown import breakdown
from berth.hardware.blockmatch.golden import BMParams
from berth.hardware.blockmatch.netlist import Netlist, is_lut
from berth.hardware.blockmatch.params import TOP, RTLConfig, rtl_source
from berth.hardware.blockmatch.timing import BUDGET_NS, CriticalPath, critical_path


@dataclass(frozen=True)
class SynthResult:
    """Resource counts of one configuration."""

    config: dict  # the Verilog parameters
    lut: int
    ff: int
    carry4: int
    lutram: int
    ramb18: int
    ramb36: int
    dsp: int
    path: CriticalPath
    parts: dict[str, dict[str, float]]  # the counts per section of the source
    yosys: str
    seconds: float

    @property
    def bram36(self) -> float:
        """Block RAM in RAMB36 equivalents."""
        return self.ramb36 + self.ramb18 / 2

    def row(self) -> dict:
        return {**asdict(self), "bram36": self.bram36, "path_budget_ns": BUDGET_NS}


def mapped_cells(stat: Path, top: str) -> dict[str, int]:
    """Cell counts of module ``top`` from Yosys's ``stat -json`` after ``synth_xilinx``: lut (an INV
    is a LUT1), ff, carry4, lutram, ramb18, ramb36, dsp."""
    cells = json.loads(stat.read_text())["modules"][f"\\{top}"]["num_cells_by_type"]

    def count(pattern: str) -> int:
        return sum(n for name, n in cells.items() if re.fullmatch(pattern, name))

    return {"lut": sum(n for name, n in cells.items() if is_lut(name)), "ff": count(r"FD[A-Z]*"),
            "carry4": count("CARRY4"), "lutram": count(r"RAM\d+[MSX].*"), "ramb18": count("RAMB18E1"),
            "ramb36": count("RAMB36E1"), "dsp": count("DSP48E1")}


def yosys_version(yosys: Path) -> str:
    out = subprocess.run([str(yosys), "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return out.split(" (")[0] or "unknown"


def synthesize(cfg: RTLConfig, work: Path, source: Path | None = None) -> SynthResult:
    """Run Yosys on ``cfg`` (the core, or ``source``: e.g. an earlier version) in ``work``, count
    the mapped cells, find the longest path of the flattened netlist and charge its cells to the
    source's sections (the netlist is then removed: it is large)."""
    yosys = require_tool("yosys")
    work.mkdir(parents=True, exist_ok=True)
    params = cfg.parameters()
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    stat, netlist = work / "stat.json", work / "netlist.json"
    script = (f"read_verilog -sv {source or rtl_source()}; chparam {chparam} {TOP}; "
              f"synth_xilinx -family xc7 -flatten -top {TOP}; tee -q -o {stat} stat -json; write_json {netlist}")
    log = work / "yosys.log"
    start = time.perf_counter()
    proc = subprocess.run([str(yosys), "-q", "-l", str(log), "-p", script], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not stat.exists() or not netlist.exists():
        why = " (killed: out of memory?)" if proc.returncode == -9 else ""
        raise BerthError(f"yosys failed with exit status {proc.returncode}{why}; see {log}")
    mapped = Netlist.load(netlist, TOP)
    path, parts = critical_path(mapped), breakdown(mapped, source or rtl_source())
    netlist.unlink()
    return SynthResult(config=params, **mapped_cells(stat, TOP), path=path, parts=parts, yosys=yosys_version(yosys),
                       seconds=seconds)


# A Zynq-7030 (xc7z030): LUTs, flip-flops, RAMB36, DSP48E1.
ZYNQ_7030 = {"lut": 78_600, "ff": 157_200, "bram36": 265, "dsp": 400}


def table(results: list[SynthResult]) -> str:
    """A plain-text table of the results, one configuration per line, with the share of a
    Zynq-7030 and the longest path (ns of the delay model, LUT levels and CARRY4 stages on it)."""
    head = f"{'N1':>3} {'metric':>6} {'K':>3} {'window':>6} {'P':>3} {'D':>3} {'G':>3} {'width':>5} | " \
           f"{'LUT':>7} {'FF':>7} {'CARRY4':>6} {'BRAM36':>6} {'DSP':>4} | {'LUT%':>5} {'FF%':>5} {'BRAM%':>5} | " \
           f"{'path ns':>7} {'LUTs':>4} {'CY4':>3} {'s':>5}  longest path"
    lines = [head, "-" * len(head)]
    for r in results:
        c, z, p = r.config, ZYNQ_7030, r.path
        lines.append(f"{c['N']:>3} {('ssd', 'sad')[c['METRIC']]:>6} {c['K']:>3} {c['WS']:>6} {c['P']:>3} "
                     f"{c['D']:>3} {c['G']:>3} {c['W']:>5} | {r.lut:>7} {r.ff:>7} {r.carry4:>6} {r.bram36:>6g} "
                     f"{r.dsp:>4} | {100 * r.lut / z['lut']:>5.1f} {100 * r.ff / z['ff']:>5.1f} "
                     f"{100 * r.bram36 / z['bram36']:>5.1f} | {p.ns:>7.2f} {p.luts:>4} {p.carry4:>3} "
                     f"{r.seconds:>5.0f}  {p.start} -> {p.end}")
    lines.append(f"path ns: the delay model of berth.hardware.blockmatch.timing (a 7-series -1 part, no place and "
                 f"route); {BUDGET_NS:g} ns is 250 MHz")
    return "\n".join(lines)


def parts_table(result: SynthResult) -> str:
    """Where one configuration's resources go: LUT, FF, CARRY4 and block RAM per section of the
    source, each LUT charged to the sections of the registers it computes."""
    head = f"{'section':<32} {'LUT':>8} {'LUT%':>5} {'FF':>7} {'CARRY4':>6} {'BRAM36':>6}"
    lines = [head, "-" * len(head)]
    for name, row in result.parts.items():
        lines.append(f"{name[:32]:<32} {row.get('lut', 0):>8.0f} {100 * row.get('lut', 0) / max(result.lut, 1):>5.1f} "
                     f"{row.get('ff', 0):>7.0f} {row.get('carry4', 0):>6.0f} {row.get('bram36', 0):>6g}")
    return "\n".join(lines)


def _sets() -> dict[str, list[RTLConfig]]:
    small = [RTLConfig(h=480, w=640, p=2, params=BMParams(block=4, window=7, k=8, tau=3000 * 16))]
    # The acceptance sets at BM3D's window, P = 4, with 1080p line buffers.
    acceptance = [RTLConfig(h=1080, w=1920, p=4, params=BMParams(block=n, metric=m, k=k,
                                                                 tau=(3000 if m == "ssd" else 24) * n * n))
                  for n in (4, 8) for m in ("ssd", "sad") for k in (8, 16)]
    # The 1080p configuration, and the same at P = D = G = 3 (a ninth of its lanes, a sixth of its
    # references per group), whose synthesis takes minutes instead of hours.
    full = [RTLConfig(h=1080, w=1920, p=13, d=13, g=18, params=BMParams())]
    scaled = [RTLConfig(h=1080, w=1920, p=3, d=3, g=3, params=BMParams())]
    # Its D = 13 offset columns and G = 18 references per group (its top-K) at P = 3 offset rows.
    p3 = [RTLConfig(h=1080, w=1920, p=3, d=13, g=18, params=BMParams())]
    # Its P = 13 offset rows (each engine sorts and merges 13 keys a cycle) at D = G = 3.
    p13 = [RTLConfig(h=1080, w=1920, p=13, d=3, g=3, params=BMParams())]
    return {"small": small, "acceptance": acceptance, "1080p-scaled": scaled, "1080p-p3": p3, "1080p-p13": p13,
            "1080p": full}


SETS = _sets()


# A configuration small enough for an iCE40 HX8K: N1 = 4, window 5, 32-pixel rows, K = 4.
ICE40_SMALL = RTLConfig(h=16, w=32, p=1, d=1, g=1, params=BMParams(block=4, window=5, stride=2, k=4, tau=3000 * 16))


@dataclass(frozen=True)
class Ice40Result:
    """Place-and-route figures of one configuration on an iCE40 HX8K (nextpnr-ice40)."""

    config: dict
    fmax_mhz: float
    logic_cells: int
    seconds: float


def ice40_fmax(cfg: RTLConfig, work: Path, source: Path | None = None,
               parameters: dict[str, int] | None = None) -> Ice40Result:
    """Synthesize ``cfg`` (or ``source`` with ``parameters``, e.g. an earlier version of the core)
    with Yosys ``synth_ice40`` and place and route it with nextpnr-ice40 on an HX8K (seed 1)."""
    yosys, nextpnr = require_tool("yosys"), require_tool("nextpnr-ice40")
    work.mkdir(parents=True, exist_ok=True)
    params = parameters if parameters is not None else cfg.parameters()
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    netlist, log = work / "ice40.json", work / "ice40.log"
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run([str(yosys), "-q", "-p", f"read_verilog -sv {source or rtl_source()}; "
                               f"chparam {chparam} {TOP}; synth_ice40 -top {TOP} -json {netlist}"],
                              stdout=f, stderr=subprocess.STDOUT)
        if proc.returncode == 0:
            proc = subprocess.run([str(nextpnr), "--hx8k", "--package", "ct256", "--json", str(netlist),
                                   "--freq", "12", "--seed", "1"], stdout=f, stderr=subprocess.STDOUT)
    text = log.read_text()
    fmax = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", text)
    cells = re.findall(r"ICESTORM_LC:\s+(\d+)/", text)
    if proc.returncode != 0 or not fmax:
        raise BerthError(f"iCE40 place and route failed with exit status {proc.returncode}; see {log}")
    return Ice40Result(config=params, fmax_mhz=float(fmax[-1]), logic_cells=int(cells[-1]) if cells else -1,
                       seconds=time.perf_counter() - start)
