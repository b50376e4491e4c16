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
from dataclasses import dataclass

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


async def drive(dut, image: np.ndarray, rng: np.random.Generator, gap: float) -> None:
    """Driver: stream the pixels in raster order, with random idle cycles."""
    for px in image.ravel():
        while rng.random() < gap:
            dut.s_valid.value = 0
            await RisingEdge(dut.clk)
        dut.s_valid.value = 1
        dut.s_data.value = int(px)
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


async def monitor(dut, n: int, rng: np.random.Generator, stall: float, out: list[Record]) -> None:
    """Monitor: collect ``n`` output records, holding m_ready low at random; a record offered and
    not accepted must stay on the output, unchanged and valid, until it is accepted."""
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
            assert last == (len(out) % int(dut.K.value) == 0), "m_last out of place"
        elif dut.m_valid.value:
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
    mon = cocotb.start_soon(monitor(dut, len(want), rng, stall, got))
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
    """Reset while a frame is half streamed and matches are being emitted, then a clean frame."""
    design = Design.read(dut)
    frames, seed, gap, stall = settings()
    rng = np.random.default_rng(seed + 1000)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    first = frames[0][1]
    half = first.ravel()[: first.size // 2 + design.w // 2].reshape(1, -1)
    sink: list[Record] = []
    mon = cocotb.start_soon(monitor(dut, 10**9, rng, stall, sink))
    await drive(dut, half, rng, gap)
    await ClockCycles(dut.clk, 50)
    mon.cancel()
    await reset(dut)
    await run_frame(dut, design, *frames[-1], rng, gap, stall)
