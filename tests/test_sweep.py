"""Sweep files and the driver: validation, the default sweep, kill-and-resume, concurrent sweeps,
a dying worker."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from berth.core.errors import BerthError
from berth.flows.sweep import available_methods, default_sweep_path, load_sweep, plan, read_toml
from sweep_helpers import TINY, reference, snapshot, write_tiny

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ref_table(tmp_path_factory):
    return reference(tmp_path_factory.mktemp("ref"))


def berth_sweep(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "berth.cli", "sweep", *map(str, args), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


@pytest.mark.parametrize("old, new, words", [
    ("chips = 5", "chipz = 5", ["chipz", "allowed", "chips"]),          # unknown key
    ("chips = 5", 'chips = "five"', ["chips", "int"]),                   # wrong type
    ("p = [0.01, 0.05, 0.1]", "p = [0.01, 1.5]", ["p[1]", "1.5", "[0, 1]"]),  # p > 1
    ("bits = [8, 4]", "bits = [8, 17]", ["bits[1]", "2..16"]),
    ('models = ["mlp"]', 'models = ["resnet99"]', ["models[0]", "lenet"]),
    ('kind = "random"', 'kind = "cosmic"', ["errors[0].kind", "stuck_at"]),
])
def test_bad_sweep_names_file_key_and_allowed(tmp_path, old, new, words):
    text = TINY.format(out=tmp_path) + '\n[[errors]]\nkind = "random"\n'
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(BerthError) as exc:
        load_sweep(path)
    msg = str(exc.value)
    assert str(path) in msg and "\n" not in msg
    for w in words:
        assert w in msg


def test_unknown_method_and_train_axes(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY.format(out=tmp_path) + '\n[[variants]]\nname = "x"\nmethod = "magic"\n')
    with pytest.raises(BerthError, match=r"variants\[2\].method = 'magic'.*allowed: qat"):
        load_sweep(path)
    path.write_text(TINY.format(out=tmp_path).replace("epochs = 1", "epochs = 1, seed = 3"))
    with pytest.raises(BerthError, match="train.seed.*seeds"):
        load_sweep(path)
    path.write_text(TINY.format(out=tmp_path).replace("epochs = 1", "epochz = 1"))
    with pytest.raises(BerthError, match="train: unknown key 'epochz'"):
        load_sweep(path)


def test_default_sweep_is_packaged_and_valid():
    path = default_sweep_path()
    assert path.is_file()
    data = read_toml(path)
    assert [v["name"] for v in data["variants"]] == ["normal", "rquant", "clipping", "randbet"]
    assert data["bits"] == [8, 4] and data["chips"] == 50
    if "randbet" not in available_methods():
        pytest.skip("berth.train.loop has no RandBET yet")
    sweep, _ = load_sweep(None)
    assert len(plan(sweep)) == len(sweep.models) * 4 * 2


def test_run_ids_are_stable_and_distinct(tmp_path):
    sweep, _ = load_sweep(write_tiny(tmp_path, tmp_path))
    ids = [r["run_id"] for r in plan(sweep)]
    assert len(set(ids)) == 4 and ids == [r["run_id"] for r in plan(load_sweep(tmp_path / "tiny.toml")[0])]
    assert ids != [r["run_id"] for r in plan(load_sweep(tmp_path / "tiny.toml", ["train.epochs=2"])[0])]


def wait_for(store: Path, sql: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    end = time.time() + timeout
    while time.time() < end:
        assert proc.poll() is None, proc.stdout.read()
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=1) as db:
                    if db.execute(sql).fetchone()[0]:
                        return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.02)
    raise AssertionError("sweep made no progress")


def test_sigkill_then_resume_with_a_dying_worker_gives_the_uninterrupted_table(tmp_path, ref_table):
    """Kill the whole sweep (driver and pool) once some results are stored; the restarted sweep
    also loses one worker mid-task. The end table equals the uninterrupted one, row for row."""
    sweep = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "out" / "tiny" / "results.sqlite"
    proc = berth_sweep([sweep, "--workers", "2", "--store", store], start_new_session=True)
    wait_for(store, "SELECT COUNT(*) FROM evals", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = snapshot(store)
    assert 0 < len(partial) < len(ref_table)
    marker = tmp_path / "died"
    again = berth_sweep([sweep, "--workers", "2", "--store", store],
                        env={**os.environ, "BERTH_FAULT_DIE_ONCE": str(marker)})
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out
    assert marker.exists(), "the fault hook did not fire"
    assert "resuming" in out and "report:" in out
    assert snapshot(store) == ref_table
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM evals").fetchone()[0] == 4
    resolved = json.loads((tmp_path / "out" / "tiny" / "sweep.json").read_text())
    assert resolved["chips"] == 5 and resolved["train"]["batch_size"] > 0


def test_two_sweeps_on_one_store_at_once(tmp_path, ref_table):
    sweep = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "shared.sqlite"
    procs = [berth_sweep([sweep, "--executor", "serial", "--store", store]) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert snapshot(store) == ref_table
