"""Failures at the command line: one line, exit status 2, nothing altered that is not berth's.

Each case runs the real ``berth`` in a subprocess from a scratch folder and checks the whole of
stderr: one ``berth: error:`` line naming the path or value (no traceback).
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from berth.core.store import Store


def berth(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "berth.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A berth store with one run row, checkpointed (WAL folded in) so its bytes are stable."""
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.add_run({"run_id": "r1", "sweep": "x", "label": "a", "model": "mlp", "scheme": "rquant", "bits": 8})
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
    db.execute("INSERT INTO notes VALUES (1, 'mine')")
    db.commit()
    db.close()
    return path


def setup_files(tmp_path: Path) -> dict[str, Path]:
    """Bad inputs that are files on disk."""
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00not a database" * 100)
    folder = tmp_path / "a_folder"
    folder.mkdir()
    unstarted = tmp_path / "unstarted_run"
    unstarted.mkdir()
    from berth.core.config import to_dict
    from berth.flows.train import TrainCommandConfig

    (unstarted / "config.json").write_text(__import__("json").dumps(to_dict(TrainCommandConfig())))
    not_executable = tmp_path / "gxx"
    not_executable.write_text("#!/bin/sh\n")
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"PK\x03\x04 not really a checkpoint")
    bad_resume = tmp_path / "bad_resume"
    bad_resume.mkdir()
    (bad_resume / "config.json").write_text("{ not json")
    bad_project = tmp_path / "bad_project"
    (bad_project / "berth").mkdir(parents=True)
    (bad_project / "berth" / "project.json").write_text("[1, 2")
    truncated_png = tmp_path / "cut.png"
    truncated_png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    broken_json = tmp_path / "sim.json"
    broken_json.write_text("{]")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {"garbage": garbage, "folder": folder, "unstarted": unstarted, "not_executable": not_executable,
            "ckpt": ckpt, "bad_resume": bad_resume, "bad_project": bad_project, "truncated_png": truncated_png,
            "broken_json": broken_json, "a_file": a_file}


CASES = [
    # (args with {placeholders}, words the one line must contain, environment)
    (["results", "{garbage}"], ["garbage.sqlite", "not a usable SQLite file"], {}),
    (["results", "{missing}"], ["missing.sqlite", "does not exist"], {}),
    (["results", "{store}", "--csv", "/proc/x.csv"], ["/proc/x.csv"], {}),
    (["results", "{store}", "--csv", "{folder}"], ["a_folder"], {}),
    (["sweep", "{folder}"], ["a_folder"], {}),
    (["report", "{folder}"], ["a_folder"], {}),
    (["sweep", "--workers", "-3"], ["-3", ">= 1"], {}),
    (["profile", "lenet", "--input-size", "0"], ["--input-size", "0", ">= 1"], {}),
    (["profile", "--runs", "--store", "{missing}"], ["missing.sqlite", "does not exist"], {}),
    (["eval", "--set", "seed=-5"], ["seed = -5", "0..4294967295"], {}),
    (["eval", "--set", "out=/proc/x"], ["/proc/x"], {}),
    (["train", "--set", "arch.widths=abc"], ["simplenet", "widths='abc'"], {}),
    (["train", "--resume", "{unstarted}"], ["nothing to resume", "unstarted_run"], {}),
    (["hls", "export", "mlp", "--out", "{folder}"], ["a_folder", "exists"], {}),
    (["bm", "hls", "--out", "k", "--synth", "yes"], ["BERTH_VITIS_RUN=/nonexistent", "does not exist"],
     {"BERTH_VITIS_RUN": "/nonexistent"}),
    (["bm", "hls", "--out", "k", "--synth", "yes"], ["BERTH_VITIS_RUN", "not executable"],
     {"BERTH_VITIS_RUN": "{not_executable}"}),
    (["sweep", "{ckpt}"], ["model.pt"], {}),
    (["train", "--resume", "{bad_resume}"], ["config.json"], {}),
    (["hls", "verify", "{bad_project}"], ["project.json"], {}),
    (["bm", "match", "{truncated_png}"], ["cut.png"], {}),
    (["bm", "perf", "--sim-results", "{broken_json}"], ["sim.json"], {}),
    (["report", "--store", "{garbage}"], ["garbage.sqlite"], {}),
    (["pareto", "--store", "{garbage}"], ["garbage.sqlite"], {}),
    (["sweep", "--store", "{garbage}", "--set", "chips=1"], ["garbage.sqlite"], {}),
    (["train", "--set", "out={a_file}", "--set", "train.epochs=1"], ["a_file"], {}),
    (["pareto", "--store", "{store}", "--out", "{a_file}"], ["a_file"], {}),
    (["results", "{store}", "--where", "colour=red"], ["colour"], {}),
    (["profile", "{ckpt}"], ["model.pt"], {}),
    (["hls", "export", "{ckpt}", "--out", "prj"], ["model.pt"], {}),
    (["bm", "study", "--crop", "-5"], ["--crop", "-5", "0..4320"], {}),
    (["bm", "sim"], ["BERTH_GXX", "not executable"], {"BERTH_GXX": "{not_executable}"}),
    (["sweep", "--set", "name=../../x"], ["name"], {}),
    (["hls", "export", "mlp", "--out", "prj"], ["BERTH_GXX", "not executable"], {"BERTH_GXX": "{not_executable}"}),
]


@pytest.mark.parametrize("args, words, env", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, store: Path, args: list[str], words: list[str],
                                          env: dict[str, str]) -> None:
    paths = {k: str(v) for k, v in {**setup_files(tmp_path), "store": store,
                                      "missing": tmp_path / "missing.sqlite"}.items()}
    argv = [a.format(**paths) for a in args]
    res = berth(tmp_path, *argv, env={k: v.format(**paths) for k, v in env.items()})
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and lines[0].startswith("berth: error:"), res.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_reading_a_store_changes_nothing(tmp_path: Path, store: Path, foreign: Path) -> None:
    before = digest(store), digest(foreign)
    assert berth(tmp_path, "results", str(store)).returncode == 0
    res = berth(tmp_path, "results", str(foreign))
    assert res.returncode == 2 and "not a berth results store" in res.stderr
    assert (digest(store), digest(foreign)) == before
    left = {p.name for p in tmp_path.iterdir()} - {"s.sqlite-wal", "s.sqlite-shm"}  # a WAL reader's own files
    assert left == {"other.sqlite", "s.sqlite"}


def test_writing_never_adopts_a_foreign_sqlite_file(tmp_path: Path, foreign: Path) -> None:
    before = digest(foreign)
    with pytest.raises(Exception, match="not a berth results store"):
        Store(foreign)
    assert digest(foreign) == before


def test_a_closed_pipe_ends_quietly(tmp_path: Path, store: Path) -> None:
    proc = subprocess.run(f"{sys.executable} -m berth.cli results {store} --table runs | head -c 10",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_stale_temp_files_of_a_killed_writer_are_swept(tmp_path: Path) -> None:
    import os
    import time

    from berth.core.files import STALE_S, atomic_write_text

    old, fresh = tmp_path / ".report.md.abc.tmp", tmp_path / ".report.md.def.tmp"
    old.write_text("half")
    fresh.write_text("being written")
    os.utime(old, (time.time() - STALE_S - 5,) * 2)
    atomic_write_text(tmp_path / "report.md", "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.md.def.tmp", "report.md"]


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    from berth.core.files import atomic_directory, atomic_write_text

    old = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_directory(tmp_path / "d") as d:
            (d / "b").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644 and stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


@pytest.mark.parametrize("setting, words", [
    ('name="../../x"', ["--set name=", "'../../x'", "folder name"]),
    ("chips=ten", ["--set chips=ten", "chips = 'ten'", "int"]),
    ("models=[\"no_such_pkg.nets:f\"]", ["--set models=", "cannot import module"]),
])
def test_a_bad_sweep_override_names_its_flag(tmp_path: Path, setting: str, words: list[str]) -> None:
    res = berth(tmp_path, "sweep", "--set", setting)
    line = res.stderr.strip()
    assert res.returncode == 2 and "\n" not in line and all(w in line for w in words), line
    assert list(tmp_path.iterdir()) == []
