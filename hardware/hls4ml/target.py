"""The hardware target of an HLS project: FPGA part, clock, I/O style, strategy, reuse factor.

Loaded from the ``[target]`` table of a TOML config (unknown keys are errors) and saved, resolved,
into every project so that a project always says what it was generated for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from berth.core.errors import BerthError


@dataclass(frozen=True)
class HlsTarget:
    """Settings hls4ml needs to generate a project, with defaults for a small Zynq board.

    ``part``: FPGA part (default: Zynq-7020 of the PYNQ-Z2). ``clock_period``: ns.
    ``io_type``: ``io_stream`` (compiles far faster for CNNs) or ``io_parallel``.
    ``strategy``: ``Latency`` (weights in registers) or ``Resource`` (weights in memories, stored
    transposed). ``reuse_factor``: multipliers shared by this many operations.
    ``backend``: hls4ml backend (``Vitis`` → ``vitis-run``, ``Vivado`` → ``vivado_hls``).
    ``memory_word_bits``: word width of the weight memory, for the cost estimate's word count.
    ``csim_opt``: g++ optimisation flag for the C-simulation library (compile time vs speed).
    """

    part: str = "xc7z020clg400-1"
    clock_period: float = 10.0
    io_type: Literal["io_stream", "io_parallel"] = "io_stream"
    strategy: Literal["Latency", "Resource"] = "Latency"
    reuse_factor: int = 1
    backend: Literal["Vitis", "Vivado"] = "Vitis"
    memory_word_bits: int = 32
    csim_opt: Literal["-O0", "-O1", "-O2", "-O3"] = "-O1"

    def __post_init__(self) -> None:
        if not self.clock_period > 0:
            raise BerthError(f"target.clock_period = {self.clock_period!r} must be > 0 (ns)")
        if self.reuse_factor < 1:
            raise BerthError(f"target.reuse_factor = {self.reuse_factor!r} must be >= 1")
        if not 1 <= self.memory_word_bits <= 4096:
            raise BerthError(f"target.memory_word_bits = {self.memory_word_bits!r} is outside 1..4096")
        if not self.part.strip():
            raise BerthError("target.part must name an FPGA part, e.g. 'xc7z020clg400-1'")
