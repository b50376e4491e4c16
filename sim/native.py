"""Frame-scale simulation: the RTL compiled natively by Verilator with a C++ bench (no Python).

The bench (``sim/native/tb_blockmatch.cpp``) streams a whole PGM frame, or several copies of it
back to back, without input gaps or output stalls and writes every record; this module builds it
once per configuration, runs it, and compares the records with the golden model.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.core.files import atomic_write_bytes
from berth.core.progress import step
from berth.core.tools import require_tool
from berth.hardware.blockmatch import MatchResult, block_match
from berth.core.files import package_file, work_dir
from berth.hardware.blockmatch.params import TOP, RTLConfig, rtl_source
from berth.sim.runner import simulator_env

BENCH = package_file("berth.sim", "native", "tb_blockmatch.cpp")
# Verilator's own optimisation, and -O2 instead of verilated.mk's -Os (1.6x faster here).
FLAGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-MAKEFLAGS", "OPT_FAST=-O2")


@dataclass(frozen=True)
class NativeRun:
    """What one native simulation of a frame produced."""

    result: MatchResult  # the design's matches, decoded (of the last frame)
    cycles: int  # from the first pixel offered to the last record accepted
    seconds: float  # wall time of the simulation binary
    frame_cycles: tuple[int, ...] = ()  # the same count at each frame's last record
    results: tuple[MatchResult, ...] = ()  # every frame's matches

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds


def _check(cmd: list[str], log: Path, what: str) -> None:
    """Run ``cmd`` with its output in ``log``; a failure is a one-line error naming the log."""
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise BerthError(f"{what} failed with exit status {proc.returncode}; see {log}")


def build_native(cfg: RTLConfig, root: Path | None = None) -> Path:
    """Compile the design and the C++ bench (once per configuration); return the executable."""
    simulator_env("verilator")
    verilator = require_tool("verilator")
    out = work_dir(root, "sim_build") / f"native-{cfg.tag(BENCH, flags=FLAGS)}"
    exe = out / "tb_blockmatch"
    if exe.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(verilator), "--cc", "--exe", "--build", "-j", str(min(os.cpu_count() or 1, 4)), *FLAGS,
           "-Wno-fatal", "--top-module", TOP,
           "--Mdir", str(out / "obj"), "-o", str(exe),
           *(f"-G{k}={v}" for k, v in cfg.parameters().items()), *(f"+define+{d}" for d in cfg.defines),
           str(rtl_source()), str(BENCH)]
    step(f"building the RTL natively with Verilator for a {cfg.h}x{cfg.w} frame (a minute or more; log: "
         f"{out / 'build.log'})")
    _check(cmd, out / "build.log", "native Verilator build")
    return exe


def write_pgm(path: Path, image: np.ndarray) -> Path:
    """Write an 8-bit grayscale image as a binary PGM."""
    h, w = image.shape
    return atomic_write_bytes(path, f"P5\n{w} {h}\n255\n".encode() + image.astype(np.uint8).tobytes())


def decode(records: np.ndarray, cfg: RTLConfig) -> MatchResult:
    """Turn raw (ref_y, ref_x, dy, dx, dist) records into a MatchResult."""
    p = cfg.params
    ow = p.radius.bit_length() + 1
    k = p.k
    rec = records.reshape(-1, k, 5).astype(np.int64)
    offs = rec[:, :, 2:4]
    offs = np.where(offs >= 1 << (ow - 1), offs - (1 << ow), offs)
    dist = rec[:, :, 4]
    count = (dist != p.sat).sum(axis=1)
    return MatchResult(refs=rec[:, 0, :2], offsets=offs, dist=dist, count=count)


def run_native(cfg: RTLConfig, image: np.ndarray, root: Path | None = None, frames: int = 1) -> NativeRun:
    """Simulate ``frames`` copies of a frame back to back natively; return the decoded matches,
    cycles and wall time."""
    if image.shape != (cfg.h, cfg.w):
        raise BerthError(f"image shape {image.shape} does not match the design's frame {cfg.h}x{cfg.w}")
    exe = build_native(cfg, root)
    work = exe.parent
    pgm = write_pgm(work / "frame.pgm", image)
    n_records = len(block_match(image, cfg.params).refs) * cfg.params.k
    out = work / "records.txt"
    start = time.perf_counter()
    _check([str(exe), str(pgm), str(n_records), str(out), str(2_000_000_000), str(frames)], work / "run.log",
           "native simulation")
    seconds = time.perf_counter() - start
    log = dict(line.split(maxsplit=1) for line in (work / "run.log").read_text().splitlines() if " " in line)
    records = np.loadtxt(out, dtype=np.int64, ndmin=2)
    results = tuple(decode(part, cfg) for part in np.split(records, frames))
    return NativeRun(result=results[-1], cycles=int(log["cycles"]), seconds=seconds,
                     frame_cycles=tuple(int(c) for c in log["frame_cycles"].split()), results=results)


def mismatches(got: MatchResult, want: MatchResult) -> list[str]:
    """Where two match results differ (empty when they are equal), one line per field."""
    diffs = []
    for field in ("refs", "offsets", "dist", "count"):
        a, b = getattr(got, field), getattr(want, field)
        if a.shape != b.shape:
            diffs.append(f"{field}: shape {a.shape} != {b.shape}")
        elif not np.array_equal(a, b):
            bad = tuple(int(i) for i in np.argwhere(a != b)[0])
            diffs.append(f"{field}: first difference at {bad}: {a[bad]} != {b[bad]}")
    return diffs
