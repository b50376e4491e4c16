"""Throughput model of the block-matching core: cycles per frame, fps, line-buffer block RAM.

:func:`cycles_per_frame` follows the RTL's control FSM (``rtl/blockmatch.sv``) reference by
reference, for an input that never starves and an output that never stalls; the tests check it
against the cycles the native Verilator simulation measures. From it come the frame rates at a
given clock for standard video sizes, set beside the figures of the paper the design follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from berth.hardware.blockmatch.golden import BMParams, ref_positions

RESOLUTIONS = {"640x480": (480, 640), "1280x720": (720, 1280), "1920x1080": (1080, 1920),
               "3840x2160": (2160, 3840)}

# "Block-matching in FPGA" (Pizarro Solar & Pleskowicz, arXiv 2006.14105), Zynq-7030 target.
PAPER = {
    "device": "Zynq-7030 (xc7z030)",
    "ramb36_available": 265,
    "bram_share": "< 6 %",
    "other_resources_share": "< 2 %",
    "clock_mhz": {"plain": 100, "optimised": 250},
    "distances_per_cycle_1080p30_at_250mhz": 42,
}

FSM_REF_OVERHEAD = 4  # S_WAIT (1 cycle) + S_DRAIN (3 cycles) per reference


def line_buffer_rows(params: BMParams) -> int:
    """L, the rows the core buffers: window + N1 - 1 rows in use + stride rows being refilled."""
    return params.window + params.block - 1 + params.stride


def cycles_per_reference(y: int, x: int, h: int, w: int, params: BMParams, p: int) -> int:
    """Cycles the core spends on the reference block at (y, x): load, sweep bands, emit K records."""
    n, nb = params.radius, params.block
    rows = min(h - nb, y + n) - max(0, y - n) + 1
    cols = min(w - nb, x + n) - max(0, x - n) + 1
    return FSM_REF_OVERHEAD + nb + math.ceil(rows / p) * (cols + nb - 1) + params.k


def cycles_per_frame(h: int, w: int, params: BMParams, p: int) -> int:
    """Cycles from the first pixel offered to the last record accepted (no gaps, no stalls)."""
    n, nb = params.radius, params.block
    xs = ref_positions(w, nb, params.stride)
    sweep = int(sum(min(w - nb, int(x) + n) - max(0, int(x) - n) + nb for x in xs))  # cols + N1 - 1
    fixed = len(xs) * (FSM_REF_OVERHEAD + nb + params.k)
    t = 0
    for y in ref_positions(h, nb, params.stride):
        t = max(t, min(h, int(y) + n + nb) * w)  # the rows it needs, one input pixel per cycle
        rows = min(h - nb, int(y) + n) - max(0, int(y) - n) + 1
        t += fixed + math.ceil(rows / p) * sweep
    return t


def units_for_fps(h: int, w: int, params: BMParams, clock_mhz: float, fps: float) -> int | None:
    """The fewest distance units P that reach ``fps`` at this clock (None: not even P = window)."""
    for p in range(1, params.window + 1):
        if clock_mhz * 1e6 / cycles_per_frame(h, w, params, p) >= fps:
            return p
    return None


@dataclass(frozen=True)
class Throughput:
    """Frame rate and line-buffer size of the core at one resolution."""

    resolution: str
    cycles: int
    fps: float
    ramb36: float
    distances_per_cycle_needed_30fps: float
    units_for_30fps: int | None


def ramb36_line_buffers(w: int, params: BMParams) -> float:
    """RAMB36 equivalents for the line buffers: one RAMB18 (2K x 9) per row and 2048 columns."""
    return line_buffer_rows(params) * math.ceil(w / 2048) / 2


def distances_per_frame(h: int, w: int, params: BMParams) -> int:
    """Block distances a full search computes per frame (window clipped at the borders)."""
    n, nb = params.radius, params.block
    span = lambda r, size: min(size - nb, r + n) - max(0, r - n) + 1  # noqa: E731
    ys = ref_positions(h, nb, params.stride)
    xs = ref_positions(w, nb, params.stride)
    return sum(span(int(y), h) for y in ys) * sum(span(int(x), w) for x in xs)


def throughput(params: BMParams, p: int, clock_mhz: float, scale: float = 1.0) -> list[Throughput]:
    """Throughput at every standard resolution; ``scale`` = measured / modelled cycles."""
    out = []
    for name, (h, w) in RESOLUTIONS.items():
        cycles = round(cycles_per_frame(h, w, params, p) * scale)
        need = distances_per_frame(h, w, params) * 30 / (clock_mhz * 1e6)
        out.append(Throughput(name, cycles, clock_mhz * 1e6 / cycles, ramb36_line_buffers(w, params), need,
                              units_for_fps(h, w, params, clock_mhz, 30.0)))
    return out
