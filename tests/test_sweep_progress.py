"""Progress inside sweep tasks: a worker reports each epoch it trains and each chip point it
evaluates to the driver's queue (shown after the task bar), from a real spawned worker."""

from __future__ import annotations

import multiprocessing as mp
import queue
from pathlib import Path

from sweep_helpers import write_tiny


def _drain(events) -> list[tuple[str, int, int]]:
    out = []
    while True:
        try:
            out.append(events.get(timeout=2))
        except queue.Empty:
            return out


def test_workers_report_epochs_and_points(tmp_path: Path) -> None:
    from berth.flows.executors import LocalExecutor
    from berth.flows.sweep import error_jobs, load_sweep, plan
    from berth.flows.tasks import chip_points, eval_task, train_task

    sweep, _ = load_sweep(write_tiny(tmp_path, tmp_path / "out"), ["train.epochs=2", "chips=2"])
    run = plan(sweep)[0]
    spec = error_jobs(sweep)[0]
    events = mp.get_context("spawn").Queue()
    pool = LocalExecutor(1, events=events)
    try:
        pool.submit("train", train_task, run)
        (_, trained), = pool.wait()
        points = chip_points(spec, list(sweep.p), sweep.chips)
        pool.submit("eval", eval_task, {"state": trained["state"], "spec": spec, "points": points,
                                        "dataset": run["dataset"], "data_seed": run["data_seed"]})
        pool.wait()
    finally:
        pool.shutdown()
    steps = _drain(events)
    assert [(d, t) for what, d, t in steps if ": epoch" in what] == [(1, 2), (2, 2)]
    assert [(d, t) for what, d, t in steps if ": point" in what] == [(i + 1, len(points)) for i in range(len(points))]
    assert steps[0][0].startswith(f"training {run['label']} mlp")
