"""Two drivers on one sweep and one store split the work and both end with the whole of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweep_helpers import reference, snapshot, write_tiny

pytestmark = pytest.mark.slow


def _sweep(sweep: Path, store: Path) -> subprocess.Popen:
    env = {**os.environ, "BERTH_STORE": str(store)}
    return subprocess.Popen([sys.executable, "-m", "berth.cli", "sweep", str(sweep), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _counts(output: str) -> dict[str, int]:
    match = re.search(r"done: (\d+) trained, (\d+) evaluated(?:, (\d+) by another berth process)?", output)
    assert match, output
    return {"trained": int(match[1]), "evaluated": int(match[2]), "elsewhere": int(match[3] or 0)}


def test_two_processes_share_one_sweep(tmp_path: Path) -> None:
    sweep = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "shared.sqlite"
    procs = [_sweep(sweep, store), _sweep(sweep, store)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    print(*outputs, sep="\n")
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = [_counts(out) for out in outputs]
    for c in counts:  # each did part of the work, and saw the rest done by the other
        assert c["trained"] + c["evaluated"] > 0, counts
        assert c["trained"] + c["evaluated"] + c["elsewhere"] == 8, counts
    assert sum(c["trained"] for c in counts) == 4 and sum(c["evaluated"] for c in counts) == 4, counts
    (tmp_path / "ref").mkdir()
    assert snapshot(store) == reference(tmp_path / "ref")
