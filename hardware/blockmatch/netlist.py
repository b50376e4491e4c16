"""A Yosys JSON netlist of one flattened, technology-mapped module, indexed for walking: the cell
that drives each net bit, the bits each cell takes in, the cells each bit feeds, and the design's
names and source lines of cells. Shared by the longest-path walk and the resource breakdown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, TypeVar

V = TypeVar("V")


def clocked(kind: str) -> bool:
    """A cell that starts and ends register-to-register paths (flip-flop, shift register, block
    RAM, DSP slice)."""
    return kind.startswith(("FD", "RAMB", "SRL", "DSP48"))


def is_lut(kind: str) -> bool:
    """A cell that occupies a LUT: LUT1..LUT6, and INV (a LUT1 on a 7-series part)."""
    return re.fullmatch(r"LUT\d|INV", kind) is not None


def settle(root: str, after: Callable[[str], list[str]], done: dict[str, V], value: Callable[[str], V]) -> V:
    """``done[root]``: first every cell that ``after`` names for it is settled, depth first and
    without recursion (logic cones are thousands of cells deep), then ``value(cell)``, which may
    read ``done`` for those cells. ``done`` memoizes across calls; the graph must have no cycle."""
    stack = [root]
    while stack:
        cell = stack[-1]
        if cell in done:
            stack.pop()
            continue
        todo = [c for c in after(cell) if c not in done]
        if todo:
            stack.extend(todo)
            continue
        done[cell] = value(cell)
        stack.pop()
    return done[root]


class Netlist:
    """Cells, the driver of each net bit, the sinks of each, and the names of the design's nets."""

    def __init__(self, module: dict):
        self.cells: dict[str, dict] = module["cells"]
        self.driver: dict[int, str] = {}
        self.inputs: dict[str, list[tuple[str, int]]] = {name: [] for name in self.cells}
        self.sinks: dict[int, list[str]] = {}
        for name, cell in self.cells.items():
            for pin, bits in cell["connections"].items():
                out = cell["port_directions"][pin] == "output"
                for bit in bits:
                    if isinstance(bit, int):
                        if out:
                            self.driver[bit] = name
                        else:
                            self.inputs[name].append((pin, bit))
                            self.sinks.setdefault(bit, []).append(name)
        self.names: dict[int, str] = {}
        for net, info in module["netnames"].items():
            if not net.startswith("$"):
                for i, bit in enumerate(info["bits"]):
                    if isinstance(bit, int):
                        self.names.setdefault(bit, net if len(info["bits"]) == 1 else f"{net}[{i}]")

    @classmethod
    def load(cls, netlist_json: Path, top: str) -> Netlist:
        """Module ``top`` of a ``write_json`` file."""
        return cls(json.loads(netlist_json.read_text())["modules"][top])

    def label(self, cell: str) -> str:
        """The design's name for what ``cell`` drives (a register's name), or the cell's."""
        c = self.cells[cell]
        for pin, bits in c["connections"].items():
            if c["port_directions"][pin] == "output":
                for bit in bits:
                    if bit in self.names:
                        return self.names[bit]
        return cell

    def source_line(self, cell: str, source: str) -> int | None:
        """The first line of file ``source`` (a base name) that the cell's ``src`` attribute names."""
        src = self.cells[cell].get("attributes", {}).get("src", "")
        lines = [int(n) for n in re.findall(rf"{re.escape(source)}:(\d+)\.", src)]
        return min(lines) if lines else None

    def fanout(self, cell: str) -> list[str]:
        """The cells that take one of ``cell``'s outputs in."""
        c = self.cells[cell]
        return [sink for pin, bits in c["connections"].items() if c["port_directions"][pin] == "output"
                for bit in bits if isinstance(bit, int) for sink in self.sinks.get(bit, ())]
