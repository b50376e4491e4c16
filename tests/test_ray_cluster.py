"""A sweep on a two-node Ray cluster (a head and a worker node started with ``ray start`` on this
machine) loses nothing when the worker node is killed in the middle of a task: Ray retries the task
on the head and the stored rows equal an in-process run."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep_helpers import snapshot

pytestmark = [pytest.mark.ray, pytest.mark.slow]
pytest.importorskip("ray")

SWEEP = """
name = "cluster"
models = ["mlp"]
model_options = {{ hidden = [128] }}
bits = [8, 4]
seeds = [0, 1, 2]
p = [0.01, 0.05]
chips = 40
train = {{ epochs = 3 }}
out = "{out}"

[[variants]]
name = "normal"
scheme = "normal"
"""
ENV = {"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(*args: str) -> subprocess.Popen:
    """``ray start ... --block`` in a process group of its own (killing the group kills the node)."""
    exe = Path(sys.executable).with_name("ray")
    return subprocess.Popen([str(exe), "start", "--num-cpus", "1", "--disable-usage-stats", "--block", *args],
                            env={**os.environ, **ENV}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _node_processes(pgid: int) -> dict[int, str]:
    """``{pid: title}`` of a node: its process group and their children (Ray starts each task
    worker in a group of its own, titled ray::<task> while it runs one)."""
    rows = [line.split(None, 3) for line in
            subprocess.run(["ps", "-eo", "pid=,pgid=,ppid=,args="], capture_output=True, text=True).stdout.splitlines()]
    group = {int(r[0]) for r in rows if len(r) == 4 and int(r[1]) == pgid}
    return {int(r[0]): r[3] for r in rows if len(r) == 4 and (int(r[0]) in group or int(r[2]) in group)}


def _kill_node(pgid: int) -> None:
    for pid in _node_processes(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _nodes_in(store: Path) -> set[str]:
    """The Ray nodes that stored rows of the sweep so far."""
    try:
        with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT machine FROM runs UNION ALL SELECT machine FROM evals").fetchall()
    except sqlite3.Error:  # not created yet
        return set()
    return {json.loads(m).get("ray_node") for (m,) in rows}


def _ray(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("ray")), *args], capture_output=True,
                          env={**os.environ, **ENV}, **kw)


def test_a_lost_worker_node_loses_nothing(tmp_path: Path) -> None:
    from berth.core.store import Store
    from berth.flows.driver import Driver
    from berth.flows.executors import SerialExecutor
    from berth.flows.sweep import load_sweep

    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "s.toml").write_text(SWEEP.format(out=ref / "out"))
    with Store(ref / "ref.sqlite") as s:
        Driver(load_sweep(ref / "s.toml")[0], s, SerialExecutor(), progress=False).run()

    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _ray_start("--head", "--port", str(port), "--include-dashboard=false")
    worker = None
    try:
        deadline = time.time() + 90
        while _ray("status", "--address", address).returncode:
            assert time.time() < deadline, "the head node did not start"
            time.sleep(1)
        worker = _ray_start("--address", address)
        while _ray("status", "--address", address).stdout.split(b"Pending")[0].count(b" node_") < 2:
            assert time.time() < deadline, "the worker node did not join"
            time.sleep(1)
        store = tmp_path / "cluster.sqlite"
        (tmp_path / "s.toml").write_text(SWEEP.format(out=tmp_path / "out"))
        sweep = subprocess.Popen([sys.executable, "-m", "berth.cli", "sweep", str(tmp_path / "s.toml"), "-q",
                                  "--executor", "ray", "--address", address, "--store", str(store)],
                                 env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        busy_since = None
        while sweep.poll() is None:  # kill the worker node a second into its first task
            busy = any(t.startswith("ray::") and t.endswith("_task") for t in _node_processes(worker.pid).values())
            busy_since = (busy_since or time.time()) if busy else None
            if busy_since and time.time() - busy_since > 1.0 and worker.poll() is None:
                _kill_node(worker.pid)
                worker.wait()
            time.sleep(0.05)
        output = sweep.communicate()[0]
        assert sweep.returncode == 0, output
        assert worker.returncode is not None, "the worker node never took a task"
        assert len(_nodes_in(store)) == 1  # the lost task was retried on the head
        assert snapshot(store) == snapshot(ref / "ref.sqlite")
    finally:
        for node in (worker, head):
            if node is not None:
                _kill_node(node.pid)
                node.wait()
