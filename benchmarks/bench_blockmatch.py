"""Speed of the block-matching golden model and of the RTL simulations, as ratios measured in one run.

* golden model: seconds per 256x256 frame with the 39x39 window (median of repeats), against a
  baseline of one NumPy pass over the same amount of data (window^2 x H x W int32 additions);
* cocotb: simulated cycles per second of the same small design on Verilator and on Icarus,
  against the native Verilator run of that design (same parameters, no Python in the loop);
* native Verilator: cycles per frame and cycles per second for the whole 256x256 photograph at
  BM3D's default parameters (N1=8, window 39, stride 3, K=16) with P=8 distance units.

Builds are cached under sim_build/ (the first run compiles them).
Run: python benchmarks/bench_blockmatch.py [--repeats 3] [--frames 4]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET

import numpy as np

from berth.hardware.blockmatch import block_match
from berth.hardware.blockmatch.stimuli import PHOTOS, NOISE_SIGMAS, stimulus
from berth.sim.native import run_native
from berth.sim.runner import run
from berth.sim.suite import FRAME, FRAME_IMAGE, MAIN
from timing import median_time

CLOCK_NS = 10  # the cocotb bench's clock period


def bench_golden(repeats: int) -> None:
    image = stimulus(FRAME_IMAGE, FRAME.h, FRAME.w, seed=0)
    golden = median_time(lambda: block_match(image, FRAME.params), repeats)
    a = np.ones((FRAME.params.window ** 2, FRAME.h, FRAME.w), np.int32)
    baseline = median_time(lambda: np.add(a, a), repeats)
    print(f"golden model, {FRAME.h}x{FRAME.w} frame, window {FRAME.params.window}: {golden:.3f} s per frame "
          f"({golden / baseline:.1f}x one NumPy pass over {a.size / 1e6:.0f}M int32, {baseline * 1e3:.0f} ms)")


def cocotb_rate(sim: str, frames: list[str]) -> float:
    """Simulated cycles per second of the cocotb run (from cocotb's results file)."""
    tests, failed, log = run(sim, MAIN, frames, testcase="frames_match_golden")
    if failed or not tests:
        raise SystemExit(f"{sim} run failed; see {log}")
    case = ET.parse(log.parent / "results-frames_match_golden.xml").find(".//testcase")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    return float(props["sim_time_duration"]) / CLOCK_NS / float(case.get("time"))


def bench_simulators(n_frames: int) -> None:
    frames = [f"{PHOTOS[i % 2]}-s{NOISE_SIGMAS[i % 3]}" for i in range(n_frames)]
    small = run_native(MAIN, stimulus(frames[0], MAIN.h, MAIN.w, seed=0))
    native_rate = small.cycles_per_second
    print(f"\ndesign {MAIN.h}x{MAIN.w}, N1={MAIN.params.block}, window {MAIN.params.window}, P={MAIN.p} D={MAIN.d} G={MAIN.g}; "
          f"{n_frames} frames under cocotb")
    print(f"{'simulator':<22} {'cycles/s':>12} {'x native':>9}")
    print(f"{'native verilator':<22} {native_rate:>12.0f} {1.0:>9.3f}")
    for sim in ("verilator", "icarus"):
        rate = cocotb_rate(sim, frames)
        print(f"{'cocotb ' + sim:<22} {rate:>12.0f} {rate / native_rate:>9.4f}")
    image = stimulus(FRAME_IMAGE, FRAME.h, FRAME.w, seed=0)
    full = run_native(FRAME, image)
    print(f"\nnative verilator, whole {FRAME.h}x{FRAME.w} frame, window {FRAME.params.window}, P={FRAME.p} D={FRAME.d} G={FRAME.g}: "
          f"{full.cycles} cycles/frame in {full.seconds:.2f} s = {full.cycles_per_second:.0f} cycles/s "
          f"({full.cycles_per_second / native_rate:.2f}x the small design's rate)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    bench_golden(args.repeats)
    bench_simulators(args.frames)


if __name__ == "__main__":
    main()
