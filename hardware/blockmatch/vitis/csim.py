"""C simulation of a generated HLS project with plain g++, and its output as a MatchResult.

The test bench writes one line ``ref_y ref_x dy dx dist`` per record, K per reference; the group
size is the number of slots whose distance is below the saturation value (used slots always are,
since reported distances are < tau <= SAT).
"""

from __future__ import annotations

import subprocess
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


def read_matches(path: str | Path, params: BMParams) -> MatchResult:
    """Parse the test bench's records into the golden model's MatchResult format."""
    raw = np.loadtxt(path, dtype=np.int64, ndmin=2)
    if raw.size == 0 or raw.shape[1] != 5 or raw.shape[0] % params.k:
        raise BerthError(f"{path}: expected lines of 5 integers, K = {params.k} per reference; got shape {raw.shape}")
    rec = raw.reshape(-1, params.k, 5)
    if np.any(rec[:, :, :2] != rec[:, :1, :2]):
        raise BerthError(f"{path}: the records of one reference name different reference positions")
    return MatchResult(refs=rec[:, 0, :2].copy(), offsets=rec[:, :, 2:4].copy(), dist=rec[:, :, 4].copy(),
                       count=(rec[:, :, 4] < params.sat).sum(axis=1))


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
