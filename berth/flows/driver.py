"""The sweep driver: plans the tasks, skips what the store says is done, and alone writes results.

Results are keyed by everything that defines them: (run, error model, p, chip). A rerun — after a
crash, or with more chips or other rates — evaluates exactly the (p, chip) pairs the store lacks
and leaves stored ones untouched; an error model whose definition changed under the same name is
refused instead of returning old numbers.

Crash safety: a training run's checkpoint is written atomically before its ``runs`` row commits;
an evaluation's rows commit in one transaction with its ``evals`` row. A sweep killed at any
instant therefore leaves only whole results, and a restart redoes exactly the missing ones
(every insert ignores rows already stored, so two drivers on one store never duplicate).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from berth.core.config import to_dict
from berth.core.errors import BerthError
from berth.core.progress import bar as progress_bar
from berth.core.files import atomic_write_bytes, atomic_write_json
from berth.core.provenance import package_versions
from berth.core.store import Store
from berth.flows.sweep import Sweep, error_jobs, plan, sweep_dir
from berth.flows.tasks import chip_points, eval_task, train_task


class Driver:
    """Runs one sweep on an executor, writing every result to ``store``."""

    def __init__(self, sweep: Sweep, store: Store, executor: Any, progress: bool = True):
        self.sweep = sweep
        self.store = store
        self.executor = executor
        self.dir = sweep_dir(sweep)
        self.runs = {r["run_id"]: r for r in plan(sweep)}
        self.errors = error_jobs(sweep)
        self.progress = progress
        self.versions = package_versions()

    def checkpoint_path(self, run_id: str) -> Path:
        return self.dir / "checkpoints" / f"{run_id}.pt"

    def run(self) -> dict[str, int]:
        """Do every missing task; returns counts of trained / evaluated / skipped tasks."""
        resolved = to_dict(self.sweep)
        atomic_write_json(self.dir / "sweep.json", resolved)
        self.store.add_sweep(self.sweep.name, resolved)
        trained = self.store.done_runs()
        todo_train = [r for r in self.runs if r not in trained or not self._checkpoint_readable(r)]
        todo_eval = [(r, e, points) for r in self.runs for e in self.errors
                     if (points := self._missing_points(r, e))]
        total = len(todo_train) + len(todo_eval)
        skipped = len(self.runs) * (1 + len(self.errors)) - total
        if skipped:
            print(f"resuming: {skipped} of {len(self.runs) * (1 + len(self.errors))} tasks already in the store")
        bar = progress_bar(total=total, desc=f"sweep {self.sweep.name}", unit="task", disable=not self.progress,
                           dynamic_ncols=True)
        waiting = {}
        for run_id in todo_train:
            self.executor.submit(f"train:{run_id}", train_task, self.runs[run_id])
        for run_id, spec, points in todo_eval:
            if run_id in todo_train:
                waiting.setdefault(run_id, []).append((spec, points))
            else:
                self._submit_eval(run_id, spec, points, self.checkpoint_path(run_id).read_bytes())
        counts = {"trained": 0, "evaluated": 0, "skipped": skipped}
        try:
            while self.executor.pending():
                for key, result in self.executor.wait():
                    kind, rest = key.split(":", 1)
                    if kind == "train":
                        self._finish_train(rest, result)
                        for spec, points in waiting.pop(rest, []):
                            self._submit_eval(rest, spec, points, result["state"])
                        counts["trained"] += 1
                    else:
                        run_id, label = rest.split(":", 1)
                        self._finish_eval(run_id, label, result)
                        counts["evaluated"] += 1
                    bar.update(1)
        except BaseException:  # interrupted or terminated: abandon in-flight work, end the workers
            bar.close()
            self.executor.abort()
            raise
        bar.close()
        self.executor.shutdown()
        return counts

    def _checkpoint_readable(self, run_id: str) -> bool:
        """Whether a trained run's model file is there and reads back; a damaged one is retrained
        (training is deterministic: the same seeds give the same weights) with a warning."""
        from berth.models.files import read_model_file

        path = self.checkpoint_path(run_id)
        if not path.exists():
            return False
        try:
            read_model_file(path)
        except BerthError as exc:
            print(f"berth: warning: retraining run {run_id}: {exc}", file=sys.stderr)
            return False
        return True

    def _missing_points(self, run_id: str, spec: dict) -> list[tuple[float, int]]:
        """The (p, chip) pairs of ``spec`` this run still lacks in the store (all of them for a
        run not stored yet); a stored evaluation of another definition under the label is refused."""
        stored_spec = self.store.eval_spec(run_id, spec["label"])
        if stored_spec is not None and _canonical(stored_spec) != _canonical(spec):
            raise BerthError(f"error model {spec['label']!r} of run {run_id} is stored with another definition "
                             f"({_canonical(stored_spec)}); give the changed one its own name (errors.name) "
                             "or use another --store")
        stored = self.store.stored_points(run_id, spec["label"])
        return [pt for pt in chip_points(spec, list(self.sweep.p), self.sweep.chips) if pt not in stored]

    def _submit_eval(self, run_id: str, spec: dict, points: list[tuple[float, int]], state: bytes) -> None:
        run = self.runs[run_id]
        job = {"state": state, "spec": spec, "points": points,
               "dataset": run["dataset"], "data_seed": run["data_seed"], "data_dir": run.get("data_dir")}
        self.executor.submit(f"eval:{run_id}:{spec['label']}", eval_task, job)

    def _finish_train(self, run_id: str, result: dict) -> None:
        run = self.runs[run_id]
        ckpt = atomic_write_bytes(self.checkpoint_path(run_id), result["state"])
        self.store.add_run({
            "run_id": run_id, "sweep": run["sweep"], "label": run["label"], "model": run["model"],
            "scheme": run["scheme"], "bits": run["bits"], "method": run["method"], "w_max": run["w_max"],
            "seed": run["seed"], "config": run, "seeds": {"train": run["seed"], "data": run["data_seed"]},
            "versions": self.versions, "machine": result["machine"], "clean_error": result["clean_error"],
            "history": result["history"], "checkpoint": str(Path(ckpt).resolve()), "started": result["started"],
            "finished": result["finished"], "train_s": result["train_s"], "command": "sweep"})
        tqdm.write(f"trained {run['label']:<10} {run['model']} {run['bits']}-bit seed {run['seed']}: "
                   f"clean error {result['clean_error'] * 100:.2f}% ({result['train_s']:.0f} s)")

    def _finish_eval(self, run_id: str, label: str, result: dict) -> None:
        spec = next(e for e in self.errors if e["label"] == label)
        self.store.add_evaluation({
            "run_id": run_id, "errors": label, "spec": spec, "clean_error": result["clean_error"],
            "n_test": result["n_test"], "chips": len({c for _, c, _ in result["rows"]}),
            "eval_s": result["eval_s"], "machine": result["machine"], "finished": result["finished"]},
            result["rows"])


def _canonical(spec: dict) -> str:
    """An error specification as comparable text (JSON, sorted keys)."""
    import json

    return json.dumps(spec, sort_keys=True, default=str)
