"""One build of the block-matching RTL: frame size, matcher parameters, parallel units, defines.

Shared by the cocotb and native simulations (``berth.sim``), Yosys synthesis and the BM3D study,
so all of them name the same Verilog parameters of ``rtl/blockmatch.sv`` (package ``berth.rtl``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from berth.core.errors import BerthError
from berth.core.files import package_file
from berth.hardware.blockmatch.golden import BMParams

TOP = "blockmatch"


def rtl_source() -> Path:
    """The block matcher's Verilog source (package data of ``berth.rtl``)."""
    return package_file("berth.rtl", "blockmatch.sv")


@dataclass(frozen=True)
class RTLConfig:
    """One build of the core: frame size, matcher parameters, parallelism, Verilog defines.

    ``p`` offset rows and ``d`` offset columns are searched per pass for ``g`` references at once.
    """

    h: int = 24
    w: int = 24
    params: BMParams = BMParams(window=7)
    p: int = 4
    d: int = 2
    g: int = 2
    defines: tuple[str, ...] = field(default=())

    def parameters(self) -> dict[str, int]:
        """The Verilog parameters of ``rtl/blockmatch.sv``."""
        bp = self.params
        if not 1 <= self.p <= bp.window:
            raise BerthError(f"parallel units P = {self.p} must be in [1, window = {bp.window}]")
        if not 1 <= self.d <= bp.window:
            raise BerthError(f"offset columns per pass D = {self.d} must be in [1, window = {bp.window}]")
        if not 1 <= self.g <= 64:
            raise BerthError(f"references per group G = {self.g} must be in [1, 64]")
        if min(self.h, self.w) < bp.block:
            raise BerthError(f"frame {self.h}x{self.w} is smaller than a {bp.block}x{bp.block} block")
        return {"W": self.w, "H": self.h, "N": bp.block, "WS": bp.window, "STRIDE": bp.stride,
                "METRIC": ("ssd", "sad").index(bp.metric), "K": bp.k, "TAU": bp.tau, "P": self.p, "D": self.d, "G": self.g}

    def tag(self, *extra_sources: Path, flags: tuple[str, ...] = ()) -> str:
        """A short name for build directories: changes with the parameters, defines, sources, flags."""
        key = json.dumps([self.parameters(), sorted(self.defines), list(flags)]).encode()
        for src in (rtl_source(), *extra_sources):
            key += src.read_bytes()
        return hashlib.sha1(key).hexdigest()[:10]
