"""Two drivers on one sweep and one store split the work and both end with the whole of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweep_helpers import snapshot, write_tiny

pytestmark = pytest.mark.slow

# Tasks of a second or more, so that each driver still finds work left when the other one was
# a few seconds quicker to start.
HEAVIER = ["--set", "train.epochs=4", "--set", "chips=20"]


def _sweep(sweep: Path, store: Path) -> subprocess.Popen:
    env = {**os.environ, "BERTH_STORE": str(store)}
    return subprocess.Popen([sys.executable, "-m", "berth.cli", "sweep", str(sweep), "--workers", "1", *HEAVIER],
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
    assert snapshot(store) == _reference(sweep, tmp_path / "ref.sqlite")


def _reference(sweep_file: Path, store: Path) -> list[tuple]:
    """The table of the same sweep run alone, in this process."""
    from berth.core.store import Store
    from berth.flows.driver import Driver
    from berth.flows.executors import SerialExecutor
    from berth.flows.sweep import load_sweep

    sweep, _ = load_sweep(sweep_file, [HEAVIER[i + 1] for i in range(0, len(HEAVIER), 2)])
    with Store(store) as s:
        Driver(sweep, s, SerialExecutor(), progress=False).run()
    return snapshot(store)
