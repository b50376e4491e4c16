"""The sweep driver: plans the tasks, skips what the store says is done, and alone writes results.

Results are keyed by everything that defines them: (run, error model, p, chip). A rerun — after a
crash, or with more chips or other rates — evaluates exactly the (p, chip) pairs the store lacks
and leaves stored ones untouched; an error model whose definition changed under the same name is
refused instead of returning old numbers.

Crash safety: a training run's checkpoint is written atomically before its ``runs`` row commits;
an evaluation's rows commit in one transaction with its ``evals`` row. A sweep killed at any
instant therefore leaves only whole results, and a restart redoes exactly the missing ones
(every insert ignores rows already stored, so two drivers on one store never duplicate).

Sharing: tasks are claimed in the store (``claims``) as workers free up, so two drivers on one
sweep each do part of it and both end with the whole; a dead driver's claims are taken over.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from berth.core.config import to_dict
from berth.core.errors import BerthError
from berth.core.progress import bar as progress_bar
from berth.core.files import atomic_write_bytes, atomic_write_json
from berth.core.provenance import package_versions
from berth.core.store import Owner, Store
from berth.flows.sweep import Sweep, error_jobs, plan, sweep_dir
from berth.flows.tasks import chip_points, eval_task, train_task


POLL_S = 1.0  # how often a driver waiting on another driver's tasks looks at the store
HEARTBEAT_S = 10.0  # how often a driver refreshes its claims (others take them over after 60 s)


class Heartbeat:
    """Keeps ``owner``'s claims alive from a thread with its own connection to the store, so a
    long training task does not let them go stale."""

    def __init__(self, store_path: Path, owner: Owner, every: float = HEARTBEAT_S):
        self._path, self._owner, self._every = store_path, owner, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="berth-heartbeat")

    def _beat(self) -> None:
        with Store(self._path) as store:
            while not self._stop.wait(self._every):
                store.renew(self._owner)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class StepLine:
    """Shows the latest step inside a running task ("training normal mlp 8-bit seed 0: epoch
    3/10") after the sweep's task bar, read from the executor's ``events`` queue by a thread."""

    def __init__(self, bar: Any, events: Any):
        self._bar, self._events = bar, events
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._show, daemon=True, name="berth-steps")

    def _show(self) -> None:
        import queue

        while not self._stop.is_set():
            try:
                what, done, total = self._events.get(timeout=0.2)
            except (queue.Empty, EOFError, OSError, ValueError):
                continue
            self._bar.set_postfix_str(f"{what} {done}/{total}")

    def __enter__(self) -> "StepLine":
        if self._events is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class Driver:
    """Runs one sweep on an executor, writing every result to ``store``.

    Tasks are claimed in the store one at a time, as a worker frees up, so several drivers on one
    store (two shells, two machines on a shared disk) split the sweep between them; a driver that
    has nothing left to claim waits for the others' tasks and takes over those whose driver died.
    """

    def __init__(self, sweep: Sweep, store: Store, executor: Any, progress: bool = True):
        self.sweep = sweep
        self.store = store
        self.executor = executor
        self.dir = sweep_dir(sweep)
        self.runs = {r["run_id"]: r for r in plan(sweep)}
        self.errors = error_jobs(sweep)
        self.progress = progress
        self.versions = package_versions()
        self.owner = Owner()
        self._claimed: set[str] = set()
        self._states: dict[str, bytes] = {}
        self._untrained: set[str] = set()

    def checkpoint_path(self, run_id: str) -> Path:
        """The run's model file: its checkpoint, or a QONNX run's file itself (never written)."""
        run = self.runs[run_id]
        return Path(run["qonnx"]["path"]) if "qonnx" in run else self.dir / "checkpoints" / f"{run_id}.pt"

    def run(self) -> dict[str, int]:
        """Do every missing task; returns counts of tasks trained (QONNX files "read") and evaluated here, done by
        another driver meanwhile ("elsewhere"), and already stored ("skipped")."""
        resolved = to_dict(self.sweep)
        atomic_write_json(self.dir / "sweep.json", resolved)
        self.store.add_sweep(self.sweep.name, resolved)
        trained = self.store.done_runs()
        todo_train = [r for r in self.runs if r not in trained or not self._checkpoint_readable(r)]
        todo_eval = [(r, e) for r in self.runs for e in self.errors if self._missing_points(r, e)]
        total = len(todo_train) + len(todo_eval)
        skipped = len(self.runs) * (1 + len(self.errors)) - total
        if skipped:
            print(f"resuming: {skipped} of {len(self.runs) * (1 + len(self.errors))} tasks already in the store")
        self._bar = progress_bar(total=total, desc=f"sweep {self.sweep.name}", unit="task",
                                 disable=not self.progress, dynamic_ncols=True)
        self._untrained = set(todo_train)
        self.counts = {"trained": 0, "read": 0, "evaluated": 0, "elsewhere": 0, "skipped": skipped}
        try:
            with Heartbeat(self.store.path, self.owner), StepLine(self._bar, getattr(self.executor, "events", None)):
                self._loop(todo_train, todo_eval)
        except BaseException:  # interrupted or terminated: abandon in-flight work, end the workers
            self._bar.close()
            self.executor.abort()
            self.store.release(self._claimed, self.owner)
            raise
        self._bar.close()
        self.executor.shutdown()
        return self.counts

    def _loop(self, todo_train: list[str], todo_eval: list[tuple[str, dict]]) -> None:
        """Claim and submit tasks while workers are free, collect results, and wait (polling the
        store) while the only tasks left are another driver's."""
        while todo_train or todo_eval or self.executor.pending():
            if not self._full():
                self._fill(todo_train, todo_eval)
            if self.executor.pending():
                for key, result in self.executor.wait(timeout=POLL_S if todo_train or todo_eval else None):
                    self._finish(key, result)
            elif todo_train or todo_eval:
                time.sleep(POLL_S)

    def _fill(self, todo_train: list[str], todo_eval: list[tuple[str, dict]]) -> None:
        """Claim and submit tasks until the executor's capacity is in flight; drop tasks another
        driver finished meanwhile."""
        for run_id in list(todo_train):
            if self._full():
                return
            claimed = self._claim(f"train:{run_id}")
            if self._trained_elsewhere(run_id):  # before our claim, or while another holds it
                todo_train.remove(run_id)
                self._drop(f"train:{run_id}", claimed)
            elif claimed:
                todo_train.remove(run_id)
                self.executor.submit(f"train:{run_id}", train_task, self.runs[run_id])
        for run_id, spec in list(todo_eval):
            if self._full():
                return
            if run_id in self._untrained:
                continue
            task = f"eval:{run_id}:{spec['label']}"
            claimed = self._claim(task)
            points = self._missing_points(run_id, spec)  # after the claim: another driver may have stored some
            if not points:
                todo_eval.remove((run_id, spec))
                self._drop(task, claimed)
            elif claimed:
                todo_eval.remove((run_id, spec))
                self._submit_eval(run_id, spec, points)

    def _full(self) -> bool:
        return self.executor.pending() >= self.executor.capacity

    def _drop(self, task: str, claimed: bool) -> None:
        """A task another driver finished: let go of our claim on it, if any, and count it."""
        if claimed:
            self._unclaim(task)
        self._count("elsewhere")

    def _trained_elsewhere(self, run_id: str) -> bool:
        """Whether another driver has stored this run (row and a readable model file) meanwhile."""
        if not self.store.query("runs", {"run_id": run_id}) or not self._model_file_reads(run_id):
            return False  # not yet, or the damaged file this driver is about to retrain
        self._untrained.discard(run_id)
        return True

    def _claim(self, task: str) -> bool:
        if self.store.claim(task, self.owner):
            self._claimed.add(task)
            return True
        return False

    def _unclaim(self, task: str) -> None:
        self.store.release([task], self.owner)
        self._claimed.discard(task)

    def _count(self, what: str) -> None:
        self.counts[what] += 1
        self._bar.update(1)

    def _finish(self, key: str, result: dict) -> None:
        kind, rest = key.split(":", 1)
        if kind == "train":
            self._finish_train(rest, result)
            self._count("read" if "qonnx" in self.runs[rest] else "trained")
        else:
            run_id, label = rest.split(":", 1)
            self._finish_eval(run_id, label, result)
            self._count("evaluated")
        self._unclaim(key)

    def _checkpoint_readable(self, run_id: str) -> bool:
        """Whether a trained run's model file is there and reads back; a damaged one is retrained
        (training is deterministic: the same seeds give the same weights) with a warning."""
        return self._model_file_reads(run_id, warn=True)

    def _model_file_reads(self, run_id: str, warn: bool = False) -> bool:
        """Whether the run's model file exists and reads back (``warn``: say why not, on stderr)."""
        from berth.models.files import read_model_file

        path = self.checkpoint_path(run_id)
        if not path.exists():
            return False
        if "qonnx" in self.runs[run_id]:  # the user's QONNX file: its content is in the run id
            return True
        try:
            read_model_file(path)
        except BerthError as exc:
            if warn:
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

    def _submit_eval(self, run_id: str, spec: dict, points: list[tuple[float, int]]) -> None:
        run = self.runs[run_id]
        if "qonnx" in run:
            job = {"qonnx": str(self.checkpoint_path(run_id))}
        else:
            job = {"state": self._states.get(run_id) or self.checkpoint_path(run_id).read_bytes()}
        job = {**job, "spec": spec, "points": points,
               "dataset": run["dataset"], "data_seed": run["data_seed"], "data_dir": run.get("data_dir")}
        self.executor.submit(f"eval:{run_id}:{spec['label']}", eval_task, job)

    def _finish_train(self, run_id: str, result: dict) -> None:
        run = self.runs[run_id]
        ckpt = self.checkpoint_path(run_id)
        if result["state"] is not None:  # a QONNX run has none: its model file is the user's file
            atomic_write_bytes(ckpt, result["state"])
            self._states[run_id] = result["state"]
        self._untrained.discard(run_id)
        self.store.add_run({
            "run_id": run_id, "sweep": run["sweep"], "label": run["label"], "model": run["model"],
            "scheme": result["scheme"], "bits": run["bits"], "method": run["method"], "w_max": run["w_max"],
            "seed": run["seed"], "config": run, "seeds": {"train": run["seed"], "data": run["data_seed"]},
            "versions": self.versions, "machine": result["machine"], "clean_error": result["clean_error"],
            "history": result["history"], "checkpoint": str(Path(ckpt).resolve()), "started": result["started"],
            "finished": result["finished"], "train_s": result["train_s"], "command": "sweep"})
        done, how = ("read", "as it is") if "qonnx" in run else ("trained", f"seed {run['seed']}")
        tqdm.write(f"{done} {run['label']:<10} {run['model']} {run['bits']}-bit {how}: "
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
