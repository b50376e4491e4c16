"""cocotb bench of ``rtl/blockmatch.sv``: driver, monitor, golden model and scoreboard.

The bench reads the frame size and every matcher parameter back from the design, so the same
tests run on any build. Environment variables (set by ``sim/runner.py``):

* ``BM_IMAGES``: an ``.npz`` file of named 8-bit frames (made by the runner with
  ``berth.hardware.blockmatch.stimuli``), streamed in the order stored;
* ``BM_SEED``: seed of the input gaps and the output back-pressure;
* ``BM_GAP`` / ``BM_STALL``: probability of an idle input cycle / of m_ready low.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from berth.hardware.blockmatch import BMParams, block_match

Record = tuple[int, int, int, int, int]  # ref_y, ref_x, dy, dx, dist


@dataclass(frozen=True)
class Design:
    """The frame size and matcher parameters of the design under test, read from it."""

    h: int
    w: int
    params: BMParams

    @classmethod
    def read(cls, dut) -> "Design":
        get = lambda name: int(getattr(dut, name).value)  # noqa: E731
        params = BMParams(block=get("N"), window=get("WS"), stride=get("STRIDE"),
                          metric=("ssd", "sad")[get("METRIC")], k=get("K"), tau=get("TAU"))
        return cls(h=get("H"), w=get("W"), params=params)


def expected_records(image: np.ndarray, params: BMParams) -> list[Record]:
    """The golden model's matches as the stream of records the design must emit."""
    res = block_match(image, params)
    return [(int(y), int(x), int(o[0]), int(o[1]), int(d))
            for (y, x), offs, dists in zip(res.refs, res.offsets, res.dist)
            for o, d in zip(offs, dists)]


async def drive(dut, image: np.ndarray, rng: np.random.Generator, gap: float, drop: int | None = None,
                stop: int | None = None) -> None:
    """Driver: stream the pixels in raster order (s_user on the first, s_last at the end of each
    row), with random idle cycles; ``drop`` leaves out the pixel of that raster index, ``stop``
    ends the stream before that index."""
    w = image.shape[1]
    for i, px in enumerate(image.ravel()[:stop]):
        if i == drop:
            continue
        while rng.random() < gap:
            dut.s_valid.value = 0
            await RisingEdge(dut.clk)
        dut.s_valid.value = 1
        dut.s_data.value = int(px)
        dut.s_user.value = int(i == 0)
        dut.s_last.value = int(i % w == w - 1)
        while True:
            await ReadOnly()
            accepted = bool(dut.s_ready.value)
            await RisingEdge(dut.clk)
            if accepted:
                break
    dut.s_valid.value = 0


def shown(dut) -> tuple[Record, bool]:
    """The record on the output and its m_last."""
    return ((int(dut.m_ref_y.value), int(dut.m_ref_x.value), dut.m_dy.value.to_signed(), dut.m_dx.value.to_signed(),
             int(dut.m_dist.value)), bool(dut.m_last.value))


async def monitor(dut, n: int, rng: np.random.Generator, stall: float, out: list[Record], k: int) -> None:
    """Monitor: collect ``n`` output records, holding m_ready low at random; a record offered and
    not accepted must stay on the output, unchanged and valid, until it is accepted (unless the
    frame is abandoned as malformed that cycle)."""
    held = None
    while len(out) < n:
        dut.m_ready.value = int(rng.random() >= stall)
        await ReadOnly()
        if held is not None:
            assert dut.m_valid.value and shown(dut) == held, f"output changed under back-pressure: {held}"
        held = None
        if dut.m_valid.value and dut.m_ready.value:
            record, last = shown(dut)
            out.append(record)
            assert last == (len(out) % k == 0), "m_last out of place"
        elif dut.m_valid.value and not dut.frame_error.value:  # an abandoned frame takes its records
            held = shown(dut)
        await RisingEdge(dut.clk)
    dut.m_ready.value = 0


def scoreboard(name: str, got: list[Record], want: list[Record], k: int) -> None:
    """Checker: every record equal to the golden model's, else name the first difference."""
    assert len(got) == len(want), f"{name}: {len(got)} records, expected {len(want)}"
    for i, (g, e) in enumerate(zip(got, want)):
        assert g == e, (f"{name}: reference {i // k} slot {i % k}: got (ref_y, ref_x, dy, dx, dist) = {g}, "
                        f"expected {e}")


async def reset(dut, cycles: int = 3) -> None:
    dut.rst.value = 1
    dut.s_valid.value = 0
    dut.s_user.value = 0
    dut.s_last.value = 0
    dut.cfg_valid.value = 0
    dut.cfg_addr.value = 0
    dut.cfg_data.value = 0
    dut.m_ready.value = 0
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def settings() -> tuple[list[tuple[str, np.ndarray]], int, float, float]:
    """The frames to stream (name, image) and the seed, gap and stall probabilities."""
    with np.load(os.environ["BM_IMAGES"]) as npz:
        frames = [(name, npz[name]) for name in npz.files]
    return (frames, int(os.environ.get("BM_SEED", "0")), float(os.environ.get("BM_GAP", "0.2")),
            float(os.environ.get("BM_STALL", "0.3")))


async def configure(dut, params: BMParams, h: int, w: int) -> None:
    """Write the run-time registers (taken by the core at the next start of frame)."""
    for addr, value in enumerate((params.tau, params.k, w, h)):
        dut.cfg_valid.value = 1
        dut.cfg_addr.value = addr
        dut.cfg_data.value = value
        await RisingEdge(dut.clk)
    dut.cfg_valid.value = 0


async def count_errors(dut, counter: list[int]) -> None:
    """Count the cycles frame_error is high."""
    while True:
        await ReadOnly()
        counter[0] += int(dut.frame_error.value)
        await RisingEdge(dut.clk)


async def run_frame(dut, design: Design, name: str, image: np.ndarray, rng: np.random.Generator,
                    gap: float, stall: float) -> int:
    """Stream one frame, check every record; return the cycles it took."""
    want = expected_records(image, design.params)
    got: list[Record] = []
    cycles = 0

    async def count() -> None:
        nonlocal cycles
        while True:
            await RisingEdge(dut.clk)
            cycles += 1

    counter = cocotb.start_soon(count())
    mon = cocotb.start_soon(monitor(dut, len(want), rng, stall, got, design.params.k))
    await drive(dut, image, rng, gap)
    await mon
    counter.cancel()
    scoreboard(name, got, want, design.params.k)
    dut._log.info("%s: %d records equal the golden model (%d cycles)", name, len(got), cycles)
    return cycles


@cocotb.test()
async def frames_match_golden(dut) -> None:
    """Every stimulus frame, back to back, with input gaps and output back-pressure."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    for name, image in frames:
        await run_frame(dut, design, name, image, rng, gap, stall)


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """Reset after the first pixel, half way through the input, and while the last records are
    emitted; each time a clean frame follows."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed + 1000)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    first = frames[0][1]
    for stop, wait in ((1, 5), (first.size // 2 + design.w // 2, 50), (first.size, 200)):
        sink: list[Record] = []
        mon = cocotb.start_soon(monitor(dut, 10**9, rng, stall, sink, design.params.k))
        await drive(dut, first, rng, gap, stop=stop)
        await ClockCycles(dut.clk, wait)
        mon.cancel()
        await reset(dut)
        await run_frame(dut, design, *frames[-1], rng, gap, stall)


@cocotb.test()
async def reconfigure_between_frames(dut) -> None:
    """Threshold, K and frame size written between frames; each frame equals the golden model
    with the parameters it was streamed with, then the reset configuration again."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed + 2000)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    p = design.params
    small = replace(p, tau=max(p.tau // 8, 1), k=max(p.k // 2, 2))
    h, w = design.h - 2, design.w - 3
    await configure(dut, small, h, w)
    await run_frame(dut, Design(h, w, small), "reconfigured", frames[0][1][:h, :w], rng, gap, stall)
    await configure(dut, p, design.h, design.w)
    await run_frame(dut, design, *frames[-1], rng, gap, stall)


@cocotb.test()
async def dropped_pixel_mid_frame(dut) -> None:
    """A frame missing one pixel is flagged once and abandoned; the next frame is exact."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed + 3000)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    errors = [0]
    counter = cocotb.start_soon(count_errors(dut, errors))
    first = frames[0][1]
    sink: list[Record] = []
    mon = cocotb.start_soon(monitor(dut, 10**9, rng, stall, sink, design.params.k))
    await drive(dut, first, rng, gap, drop=first.size // 2 + 1)
    await ClockCycles(dut.clk, 20)
    mon.cancel()
    assert errors[0] == 1, f"frame_error was high {errors[0]} cycles for one malformed frame"
    await run_frame(dut, design, *frames[-1], rng, gap, stall)
    counter.cancel()
    assert errors[0] == 1, "frame_error on a well-formed frame"


@cocotb.test()
async def back_to_back_frames(dut) -> None:
    """Frames streamed with no gap between them while the monitor takes the records: the next
    frame's registers are written while the last one is still searched, and a frame with a pixel
    dropped in its first row (flagged once) comes while the one before it is searched; every
    well-formed frame equals the golden model at its own parameters."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed + 4000)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    errors = [0]
    counter = cocotb.start_soon(count_errors(dut, errors))
    p = design.params
    small = replace(p, tau=max(p.tau // 8, 1), k=max(p.k // 2, 2))
    h, w = design.h - 2, design.w - 3
    first, last = frames[0][1], frames[-1][1]
    plan = [(Design(design.h, design.w, p), first, None), (Design(h, w, small), last[:h, :w], None),
            (Design(design.h, design.w, p), last, design.w // 2), (Design(design.h, design.w, p), first, None)]

    async def feed() -> None:
        for frame_design, image, drop in plan:
            await configure(dut, frame_design.params, frame_design.h, frame_design.w)
            await drive(dut, image, rng, gap, drop=drop)

    driver = cocotb.start_soon(feed())
    for i, (frame_design, image, drop) in enumerate(plan):
        if drop is not None:
            continue
        want = expected_records(image, frame_design.params)
        got: list[Record] = []
        await monitor(dut, len(want), rng, stall, got, frame_design.params.k)
        scoreboard(f"back-to-back frame {i}", got, want, frame_design.params.k)
    await driver
    counter.cancel()
    assert errors[0] == 1, f"frame_error was high {errors[0]} cycles for one malformed frame"
