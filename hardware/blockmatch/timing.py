"""The longest register-to-register path of a Yosys-mapped 7-series netlist, in LUT levels,
carry-chain stages and nanoseconds of a stated per-element delay model.

Yosys 0.23's own ``sta`` has no timing arcs for CARRY4 and MUXF7/8, and ABC's level count maps
adders to LUTs; neither says what the mapped netlist's carry chains cost. This walks the netlist
that ``synth_xilinx -flatten`` writes (``write_json``): paths start at a clocked cell's output
(flip-flop, shift register, block RAM) or an input port and end at a clocked cell's input or an
output port; ports count as registered on the other side. Each element on the way adds the delay
of :data:`DELAY_NS`. It is a model of a placed design, not a placed design: nets are a flat
allowance inside each LUT level, so the figure ranks paths and shows what a budget admits, and
place and route decides the real clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from berth.hardware.blockmatch.netlist import Netlist, clocked, is_lut, settle

# Delays of a 7-series -1 part (ns), after Xilinx DS187's switching characteristics, rounded up:
# a LUT level includes the net into it (~0.12 ns LUT, ~0.38 ns local route); a CARRY4 entered from a
# LUT (S/DI) costs its first stage, one entered from the chain below (CI) only its bypass.
DELAY_NS = {
    "lut": 0.50,            # LUT1..LUT6 and INV, with the net into it
    "carry4": 0.40,         # CARRY4 entered through S or DI
    "carry4_ci": 0.10,      # CARRY4 entered through CI (the chain)
    "muxf": 0.25,           # MUXF7 / MUXF8 (dedicated, in the slice)
    "ff_clk_to_q": 0.45,    # FD* clock to output
    "srl_clk_to_q": 1.30,   # SRL16E / SRLC32E clock to output
    "bram_clk_to_q": 2.10,  # RAMB18E1 / RAMB36E1 clock to data out, no output register
    "ff_setup": 0.10,       # data or enable into a flip-flop
    "bram_setup": 0.50,     # address, write enable or data into a block RAM
    "port": 0.45,           # an input port: a register upstream
}
BUDGET_NS = 4.0  # 250 MHz, no allowance for clock skew or jitter


@dataclass(frozen=True)
class CriticalPath:
    """The slowest path: its delay, the elements on it, and where it starts and ends."""

    ns: float
    luts: int
    carry4: int
    muxf: int
    start: str
    end: str

    def fits(self, budget_ns: float = BUDGET_NS) -> bool:
        return self.ns <= budget_ns


def _launch(kind: str) -> float:
    if kind.startswith("RAMB"):
        return DELAY_NS["bram_clk_to_q"]
    if kind.startswith("SRL"):
        return DELAY_NS["srl_clk_to_q"]
    return DELAY_NS["ff_clk_to_q"]


def _through(kind: str, pin: str) -> float:
    if is_lut(kind):
        return DELAY_NS["lut"]
    if kind == "CARRY4":
        return DELAY_NS["carry4_ci"] if pin == "CI" else DELAY_NS["carry4"]
    if kind.startswith("MUXF"):
        return DELAY_NS["muxf"]
    return 0.0  # buffers, constants


def arrivals(net: Netlist) -> dict[str, tuple[float, str | None, str]]:
    """For each cell, the latest arrival at its output, the cell before it on that path and
    the pin it enters through (clocked cells and ports launch)."""
    arrival: dict[str, tuple[float, str | None, str]] = {}

    def before(cell: str) -> list[str]:
        if clocked(net.cells[cell]["type"]):
            return []
        return [net.driver[b] for _, b in net.inputs[cell] if b in net.driver]

    def latest(cell: str) -> tuple[float, str | None, str]:
        kind = net.cells[cell]["type"]
        if clocked(kind):
            return (_launch(kind), None, "")
        best = (DELAY_NS["port"] if kind.startswith("IBUF") else 0.0, None, "")
        for pin, bit in net.inputs[cell]:
            if bit in net.driver:
                t = arrival[net.driver[bit]][0] + _through(kind, pin)
                if t > best[0]:
                    best = (t, net.driver[bit], pin)
        return best

    for root in net.cells:
        settle(root, before, arrival, latest)
    return arrival


def critical_path(net: Netlist) -> CriticalPath:
    """The slowest register-to-register (or port) path of a flattened, technology-mapped netlist."""
    arrival = arrivals(net)
    worst = (-1.0, "", "")
    for name, cell in net.cells.items():
        kind = cell["type"]
        if not (clocked(kind) or kind.startswith("OBUF")):
            continue
        setup = DELAY_NS["bram_setup"] if kind.startswith("RAMB") else DELAY_NS["ff_setup"]
        for _, bit in net.inputs[name]:
            if bit in net.driver:
                t = arrival[net.driver[bit]][0] + setup
                if t > worst[0]:
                    worst = (t, net.driver[bit], name)
    ns, last, end = worst
    kinds: Counter[str] = Counter()
    cell = last
    while cell:
        kinds[net.cells[cell]["type"]] += 1
        start = cell
        cell = arrival[cell][1]
    return CriticalPath(ns=round(ns, 2), luts=sum(n for k, n in kinds.items() if is_lut(k)),
                        carry4=kinds["CARRY4"], muxf=sum(n for k, n in kinds.items() if k.startswith("MUXF")),
                        start=net.label(start), end=net.label(end))
