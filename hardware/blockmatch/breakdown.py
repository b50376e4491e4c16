"""Where a mapped netlist's resources go, by section of the Verilog source.

The core's source is divided into sections by comment rules (``// ------ name``). Flip-flops,
block RAM and carry chains keep the source line Yosys records for them; ABC's LUTs and wide
multiplexers keep none, so each is charged to the sections of the clocked cells (or output ports)
it feeds, in equal shares: the logic that computes a register belongs to that register's section.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache
from pathlib import Path

from berth.hardware.blockmatch.netlist import Netlist, clocked, is_lut, settle

RULE = re.compile(r"^\s*//\s*-{8,}\s*(.+?)\s*$")
HEAD = "ports"  # the source before its first rule: logic that drives an output port directly
UNCHARGED = "feeds nothing clocked"


def sections(source: Path) -> list[tuple[int, str]]:
    """(first line, name) of each section of ``source``, in order."""
    marks = [(1, HEAD)]
    for number, line in enumerate(source.read_text().splitlines(), 1):
        if m := RULE.match(line):
            marks.append((number, m[1]))
    return marks


def _kind(cell_type: str) -> str | None:
    if is_lut(cell_type):
        return "lut"
    if cell_type.startswith("FD"):
        return "ff"
    if cell_type == "CARRY4":
        return "carry4"
    if cell_type.startswith("RAMB"):
        return "bram36"
    if cell_type.startswith("DSP48"):
        return "dsp"
    return None


def breakdown(net: Netlist, source: Path) -> dict[str, dict[str, float]]:
    """LUT, FF, CARRY4, RAMB36-equivalent and DSP counts per section of ``source`` (LUT shares
    are fractional), sections in source order, only those with cells."""
    marks = sections(source)
    starts = [line for line, _ in marks]

    @cache
    def own(cell: str) -> str | None:
        line = net.source_line(cell, source.name)
        return None if line is None else marks[bisect_right(starts, line) - 1][1]

    def endpoint(cell: str) -> bool:
        kind = net.cells[cell]["type"]
        return clocked(kind) or kind.startswith("OBUF")

    def logic_after(cell: str) -> list[str]:
        return [s for s in net.fanout(cell) if not endpoint(s)]

    reach: dict[str, frozenset[str]] = {}

    def sections_fed(cell: str) -> frozenset[str]:
        found: set[str] = set()
        for s in net.fanout(cell):
            found |= {own(s) or HEAD} if endpoint(s) else reach[s]
        return frozenset(found)

    def charged(cell: str) -> frozenset[str]:
        """The sections of the endpoints that ``cell``'s logic feeds."""
        return settle(cell, logic_after, reach, sections_fed)

    counts: dict[str, dict[str, float]] = {name: {} for _, name in marks}
    counts[UNCHARGED] = {}
    for name, cell in net.cells.items():
        kind = _kind(cell["type"])
        if kind is None:
            continue
        weight = 0.5 if cell["type"].startswith("RAMB18") else 1.0
        mine = own(name) if kind != "lut" else None
        targets = [mine] if mine else sorted(charged(name)) or [UNCHARGED]
        for section in targets:
            row = counts[section]
            row[kind] = row.get(kind, 0.0) + weight / len(targets)
    return {name: {k: round(v, 1) for k, v in row.items()} for name, row in counts.items() if row}
