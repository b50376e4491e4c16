"""Throughput model of the block-matching core: cycles per frame, fps, line-buffer block RAM.

:func:`frame_done_cycles` follows the RTL (``rtl/blockmatch.sv``) group by group, for an input that
never starves and an output that never stalls, one frame or several back to back: a reference row
starts three cycles after the previous row's last pass cycle and two after the rows it needs are
stored, whichever is later; a group of G references issues
``bands x blocks x (S + D - 1)`` cycles back to back; its last cycle waits until the previous
group's records have left the output buffer; the line buffers refuse a row that the current
reference row still needs, and the next frame's rows enter once the last frame's are in. The tests
check it against the cycles the native Verilator simulation measures, frame by frame. From it come the frame rates at standard video sizes, set beside the paper's figures.
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
# The previous core (one reference at a time, P distance units, load and drain not overlapped).
PREVIOUS = {"fps_1080p_p8": 4.27, "dsp_p8": 513, "lut_p8": 29_599}

HANDOFF = 14  # cycles from a group's last issue to its first record (13 pipeline stages + hand-off)
RAMB36_DATA_BITS = 32_768  # 8-bit pixels use the data bits of a RAMB36, not its parity bits


@dataclass(frozen=True)
class Units:
    """The core's parallelism: P offset rows x D offset columns per pass, G references per group."""

    p: int
    d: int
    g: int

    @property
    def lanes(self) -> int:
        """Column-sum lanes (each N1 pixel differences per cycle)."""
        return self.p * self.d


# The 1080p configuration: 13 x 13 lanes divide the 39 x 39 window into 3 x 3 passes.
DESIGN_1080P = Units(p=13, d=13, g=18)


def line_buffer_rows(params: BMParams) -> int:
    """L, the rows the core buffers: window + N1 - 1 rows in use + stride rows being refilled."""
    return params.window + params.block - 1 + params.stride


def _group_cycles(w: int, params: BMParams, units: Units) -> list[tuple[int, int]]:
    """(issue cycles per band of offset rows, references) of each group of a reference row."""
    n, nb = params.radius, params.block
    xs = [int(x) for x in ref_positions(w, nb, params.stride)]
    out = []
    for i in range(0, len(xs), units.g):
        x0, xl = xs[i], xs[min(i + units.g, len(xs)) - 1]
        columns = min(n, w - nb - x0) + min(n, xl) + 1  # offset columns any reference of the group keeps
        out.append((math.ceil(columns / units.d) * (xl - x0 + nb + units.d - 1), len(xs[i:i + units.g])))
    return out


def frame_done_cycles(h: int, w: int, params: BMParams, units: Units, frames: int = 1) -> list[int]:
    """For ``frames`` frames streamed back to back (no gaps, no stalls): the cycles from the first
    pixel offered to each frame's last record accepted.

    The input runs at most one frame ahead of the search: row ``v`` of the pixel stream (frame
    ``v // h``) may be written once the search's current reference row no longer needs the buffer
    it overwrites (``v < frame * h + lowest row needed + L``) and the search has reached the frame
    before. The search moves to the next frame the cycle after the last record is accepted.
    """
    n, nb, k = params.radius, params.block, params.k
    rows_held = line_buffer_rows(params)
    ys = [int(y) for y in ref_positions(h, nb, params.stride)]
    groups = _group_cycles(w, params, units)
    stored: list[int] = []  # stored[v]: first cycle at which stream row v is in the line buffers
    states: list[tuple[int, int]] = []  # (first cycle, first stream row not yet writable) of the search
    done: list[int] = []

    def writable(v: int) -> int:  # first cycle at which stream row v may be written
        return next(cycle for cycle, bound in states if bound > v)

    wait = 0
    for f in range(frames):
        last, refs = -1, 0
        for j, y in enumerate(ys):
            # a reference row's bound on the input applies a cycle after the row starts waiting
            # (at once for a frame's first row)
            states.append((wait + (j > 0), min(f * h + max(y - n, 0) + rows_held, (f + 2) * h)))
            need = f * h + min(y + n + nb, h)
            while len(stored) < need:
                stored.append(max(stored[-1] if stored else 0, writable(len(stored))) + w)
            start = max(wait + 2, stored[need - 1] + 1) + 1  # two cycles to settle, one to see the rows
            bands = math.ceil((min(h - nb, y + n) - max(0, y - n) + 1) / units.p)
            for per_band, count in groups:
                end = start + bands * per_band - 1
                last = end if last < 0 else max(end, last + HANDOFF + refs * k)
                refs, start = count, last + 1
            wait = last + 1
        done.append(last + HANDOFF + refs * k)
        wait = done[-1]
    return done


def cycles_per_frame(h: int, w: int, params: BMParams, units: Units) -> int:
    """Cycles from the first pixel offered to the last record accepted (no gaps, no stalls)."""
    return frame_done_cycles(h, w, params, units)[0]


def frame_period(h: int, w: int, params: BMParams, units: Units) -> int:
    """Cycles between the ends of consecutive frames streamed back to back (the steady state)."""
    done = frame_done_cycles(h, w, params, units, frames=3)
    return done[2] - done[1]


def distances_per_frame(h: int, w: int, params: BMParams) -> int:
    """Block distances a full search computes per frame (window clipped at the borders)."""
    n, nb = params.radius, params.block
    span = lambda r, size: min(size - nb, r + n) - max(0, r - n) + 1  # noqa: E731
    ys = ref_positions(h, nb, params.stride)
    xs = ref_positions(w, nb, params.stride)
    return sum(span(int(y), h) for y in ys) * sum(span(int(x), w) for x in xs)


def ramb36_line_buffers(w: int, params: BMParams) -> float:
    """RAMB36 equivalents for the line buffers: one RAMB18 (2K x 9) per row and 2048 columns."""
    return line_buffer_rows(params) * math.ceil(w / 2048) / 2


def ramb36_lower_bound(w: int, params: BMParams) -> float:
    """The fewest RAMB36 that can hold the buffered rows: rows x width x 8 bits, packed."""
    return line_buffer_rows(params) * w * 8 / RAMB36_DATA_BITS


@dataclass(frozen=True)
class Throughput:
    """Frame rate and line-buffer size of the core at one resolution: one frame alone (``cycles``,
    ``fps``) and frames streamed back to back (``period`` cycles apart, ``fps_streaming``)."""

    resolution: str
    cycles: int
    fps: float
    period: int
    fps_streaming: float
    ramb36: float
    ramb36_bound: float
    distances_per_cycle_needed_30fps: float


def throughput(params: BMParams, units: Units, clock_mhz: float, scale: float = 1.0) -> list[Throughput]:
    """Throughput at every standard resolution; ``scale`` = measured / modelled cycles."""
    out = []
    hz = clock_mhz * 1e6
    for name, (h, w) in RESOLUTIONS.items():
        cycles = round(cycles_per_frame(h, w, params, units) * scale)
        period = round(frame_period(h, w, params, units) * scale)
        need = distances_per_frame(h, w, params) * 30 / hz
        out.append(Throughput(name, cycles, hz / cycles, period, hz / period, ramb36_line_buffers(w, params),
                              ramb36_lower_bound(w, params), need))
    return out
