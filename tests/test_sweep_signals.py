"""A sweep's driver killed or terminated mid-evaluation leaves no process behind and a consistent store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep_helpers import write_tiny

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def start_and_wait_for_an_evaluation(tmp_path: Path) -> tuple[subprocess.Popen, Path, set[int]]:
    sweep = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "berth.cli", "sweep", str(sweep), "--workers", "2", "--store",
                             str(store), "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.time() + 240
    while time.time() < end:
        assert proc.poll() is None, proc.stdout.read()
        try:
            with sqlite3.connect(store, timeout=1) as db:
                if db.execute("SELECT COUNT(*) FROM evals").fetchone()[0]:
                    workers = descendants(proc.pid)
                    if workers:
                        return proc, store, workers
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError("sweep made no progress")


def wait_gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    end = time.time() + seconds
    while alive(pids) and time.time() < end:
        time.sleep(0.1)
    return alive(pids)


def test_sigkill_of_the_driver_leaves_no_worker(tmp_path: Path) -> None:
    proc, _, workers = start_and_wait_for_an_evaluation(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wait_gone(workers) == set()


def test_sigterm_ends_the_sweep_quickly_with_a_consistent_store(tmp_path: Path) -> None:
    proc, store, workers = start_and_wait_for_an_evaluation(tmp_path)
    start = time.time()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert time.time() - start < 10 and proc.returncode == 143, out
    assert "terminated" in out and "Traceback" not in out
    assert wait_gone(workers) == set()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        evals = db.execute("SELECT run_id, errors, chips FROM evals").fetchall()
        for run_id, errors, chips in evals:  # every stored evaluation is whole
            rows = db.execute("SELECT COUNT(*) FROM robustness WHERE run_id = ? AND errors = ?",
                              (run_id, errors)).fetchone()[0]
            assert rows == chips * 3
