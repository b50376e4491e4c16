"""C simulation of a generated HLS project with plain g++, and its output as a MatchResult.

The test bench writes one line ``ref_y ref_x dy dx dist`` per record, K per reference, each
kernel call's records after a line ``# call I status S``; the group size is the number of slots
whose distance is below the saturation value (used slots always are, since reported distances
are < tau <= SAT). Besides a PGM (one well-formed frame), the bench runs a beat script
(``write_script``): the register values of each call and the raw input beats (TDATA, TUSER,
TLAST), so framing errors and run-time reconfiguration can be tested.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.core.tools import require_tool
from berth.hardware.blockmatch import BMParams, MatchResult
from berth.hardware.blockmatch.vitis.project import CXXFLAGS, ap_types_dir


def _run_logged(cmd: list[str], log: Path, what: str, cwd: Path | None = None) -> None:
    """Run ``cmd`` with stdout+stderr to ``log``; a non-zero exit is a BerthError naming the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd).returncode
    if rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise BerthError(f"{what} failed (exit {rc}): {tail[0][:200]} (log: {log})")


def compile_csim(project: str | Path, build_dir: str | Path | None = None) -> Path:
    """Compile the project's test bench and kernel with g++; returns the binary's path."""
    project = Path(project)
    build = Path(build_dir) if build_dir else project / "csim"
    build.mkdir(parents=True, exist_ok=True)
    binary = build / "tb_blockmatch"
    cmd = [str(require_tool("g++")), *CXXFLAGS.split(), "-I", str(project / "src"), "-I", str(ap_types_dir()),
           "-o", str(binary), str(project / "tb" / "tb_blockmatch.cpp"), str(project / "src" / "blockmatch_top.cpp")]
    _run_logged(cmd, build / "build.log", "g++ build of the HLS C simulation")
    return binary


def run_csim(binary: str | Path, image_pgm: str | Path, out_txt: str | Path) -> Path:
    """Run the compiled test bench on a PGM image; returns the match records file."""
    out_txt = Path(out_txt)
    _run_logged([str(binary), str(image_pgm), str(out_txt)], out_txt.with_suffix(".log"), "HLS C simulation")
    return out_txt


def _records(raw: np.ndarray, params: BMParams, where: str) -> MatchResult:
    """Records ``(n, 5)`` of one frame as the golden model's MatchResult, K per reference."""
    if raw.size == 0 or raw.shape[1] != 5 or raw.shape[0] % params.k:
        raise BerthError(f"{where}: expected lines of 5 integers, K = {params.k} per reference; got shape {raw.shape}")
    rec = raw.reshape(-1, params.k, 5)
    if np.any(rec[:, :, :2] != rec[:, :1, :2]):
        raise BerthError(f"{where}: the records of one reference name different reference positions")
    return MatchResult(refs=rec[:, 0, :2].copy(), offsets=rec[:, :, 2:4].copy(), dist=rec[:, :, 4].copy(),
                       count=(rec[:, :, 4] < params.sat).sum(axis=1))


def read_matches(path: str | Path, params: BMParams) -> MatchResult:
    """Parse the test bench's records of a one-frame run into the golden model's MatchResult format."""
    return _records(np.loadtxt(path, dtype=np.int64, ndmin=2), params, str(path))


FRAME_DONE, FRAME_ERROR = 1, 2  # the kernel's status bits


@dataclass(frozen=True)
class Call:
    """One kernel call of a beat script: its status bits and its records ``(n, 5)``."""

    status: int
    records: np.ndarray

    def matches(self, params: BMParams) -> MatchResult:
        """The records as a MatchResult for the frame's run-time ``params`` (its tau and K)."""
        return _records(self.records, params, f"call with status {self.status}")


def frame_beats(image: np.ndarray) -> np.ndarray:
    """A well-formed frame as input beats ``(H*W, 3)``: pixel, start of frame, end of line."""
    h, w = image.shape
    beats = np.zeros((h * w, 3), np.int64)
    beats[:, 0] = image.reshape(-1)
    beats[0, 1] = 1
    beats[w - 1::w, 2] = 1
    return beats


def write_script(path: str | Path, calls: list[tuple[int, int, int, int]], beats: np.ndarray) -> Path:
    """A beat script: the registers (tau, K, width, height) written before each call, then the beats."""
    path = Path(path)
    lines = [f"berth-bm-stream {len(calls)} {len(beats)}", *(" ".join(map(str, c)) for c in calls)]
    lines += [f"{d} {u} {last}" for d, u, last in np.asarray(beats, np.int64)]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_calls(path: str | Path) -> list[Call]:
    """The test bench's output split by kernel call."""
    calls: list[tuple[int, list[list[int]]]] = []
    for line in Path(path).read_text().splitlines():
        if line.startswith("# call"):
            calls.append((int(line.split()[-1]), []))
        elif line.strip() and calls:
            calls[-1][1].append([int(v) for v in line.split()])
    return [Call(status, np.array(rows, np.int64).reshape(-1, 5)) for status, rows in calls]


def mismatches(a: MatchResult, b: MatchResult, limit: int = 5) -> list[str]:
    """Human-readable differences between two match results (empty when bit-identical)."""
    out = []
    for field in ("refs", "offsets", "dist", "count"):
        x, y = np.asarray(getattr(a, field)), np.asarray(getattr(b, field))
        if x.shape != y.shape:
            out.append(f"{field}: shape {x.shape} != {y.shape}")
            continue
        bad = np.argwhere(x != y)
        for idx in bad[:limit]:
            out.append(f"{field}{tuple(int(i) for i in idx)}: {x[tuple(idx)]} != {y[tuple(idx)]}")
        if len(bad) > limit:
            out.append(f"{field}: {len(bad) - limit} more differences")
    return out
