"""Where sweep tasks run: in this process, a local process pool (default), or a Ray cluster.

All three share one small interface so the driver does not care: ``submit(key, fn, arg)``
queues a task, ``wait(timeout=None)`` blocks until at least one finishes (or the timeout passes)
and returns ``[(key, result)]``, ``pending()`` counts what is still out, and ``capacity`` is how
many tasks run at once (the driver submits no more than that, claiming each as it goes). Results come back to the driver, which alone writes the
store. A worker that dies (killed, out of memory, a lost node) is retried up to ``retries`` times;
an exception raised by the task itself is a bug or bad input and is raised at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from berth.core.errors import BerthError

Task = Callable[[Any], Any]
EXECUTORS = ("local", "serial", "ray")


def die_with_parent() -> None:
    """Worker initializer: end this worker when the driver that started it dies, however it dies
    (SIGKILL included) — the kernel's parent-death signal on Linux, and a watcher thread that
    notices the parent is gone everywhere."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the watcher alone

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="berth-parent-watch").start()


def _start_worker(events: Any) -> None:
    """Pool initializer: die with the driver, and report progress inside tasks to ``events``."""
    from berth.flows.tasks import set_events

    die_with_parent()
    set_events(events)


class SerialExecutor:
    """Runs each task in this process when ``wait()`` is called (for debugging and benchmarks)."""

    capacity = 1

    def __init__(self, events: Any = None) -> None:
        from berth.flows.tasks import set_events

        self._queue: list[tuple[str, Task, Any]] = []
        self.events = events
        set_events(events)

    def submit(self, key: str, fn: Task, arg: Any) -> None:
        self._queue.append((key, fn, arg))

    def pending(self) -> int:
        return len(self._queue)

    def wait(self, timeout: float | None = None) -> list[tuple[str, Any]]:
        key, fn, arg = self._queue.pop(0)
        return [(key, fn(arg))]

    def shutdown(self) -> None:
        self._queue.clear()

    abort = shutdown


class LocalExecutor:
    """A pool of ``workers`` spawned processes; a dead worker breaks the pool, so the pool is
    rebuilt and every task that was in flight is submitted again (each at most ``retries`` times)."""

    def __init__(self, workers: int | None = None, retries: int = 3, events: Any = None):
        self.workers = max(1, workers or min(os.cpu_count() or 1, 8))
        self.retries = retries
        self.events = events
        self._tasks: dict[str, tuple[Task, Any, int]] = {}
        self._futures: dict[cf.Future, str] = {}
        self._pool = self._new_pool()

    @property
    def capacity(self) -> int:
        return self.workers

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"), initializer=_start_worker,
                                      initargs=(self.events,))

    def submit(self, key: str, fn: Task, arg: Any) -> None:
        self._tasks[key] = (fn, arg, 0)
        self._futures[self._pool.submit(fn, arg)] = key

    def pending(self) -> int:
        return len(self._tasks)

    def wait(self, timeout: float | None = None) -> list[tuple[str, Any]]:
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for fut in done:
            key = self._futures.pop(fut)
            try:
                result = fut.result()
            except BrokenProcessPool:
                self._futures[fut] = key
                self._restart()
                return out
            del self._tasks[key]
            out.append((key, result))
        return out

    def _restart(self) -> None:
        """A worker died: rebuild the pool and resubmit every unfinished task."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        self._futures.clear()
        for key, (fn, arg, tries) in list(self._tasks.items()):
            if tries >= self.retries:
                raise BerthError(f"task {key} lost its worker {tries + 1} times; giving up")
            self._tasks[key] = (fn, arg, tries + 1)
            self._futures[self._pool.submit(fn, arg)] = key

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Stop at once (interrupted or terminated): in-flight tasks are abandoned, workers ended."""
        for proc in list((self._pool._processes or {}).values()):
            proc.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)


class RayExecutor:
    """Tasks on a Ray cluster (``address``; None starts a local instance). Each task asks for one
    CPU, and one GPU when the cluster has any; Ray retries a task whose worker or node died."""

    def __init__(self, address: str | None = None, retries: int = 3, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise BerthError("--executor ray needs the ray package (pip install ray==2.60.0)") from None
        self._ray = ray
        if not ray.is_initialized():
            # address="local" always starts a fresh instance (never one found on disk). Ray binds its
            # servers to the node's address whatever berth asks (it maps 127.0.0.1 to it), so the
            # protection is Ray's token authentication, on by default; berth keeps the dashboard off.
            # A named cluster is the user's to secure.
            kw = {"address": address} if address else {"address": "local", "num_cpus": num_cpus}
            ray.init(include_dashboard=False, log_to_driver=False, **kw)
        gpus = ray.cluster_resources().get("GPU", 0)
        # Twice the CPUs: a queue in Ray lets a node that frees up start the next task at once.
        self.capacity = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        # SPREAD: sweep tasks are CPU-bound and independent, so every node should take its share
        # (the default policy packs them onto the driver's node, where their inputs are).
        self._options = {"max_retries": retries, "num_cpus": 1, "num_gpus": 1 if gpus else 0,
                         "scheduling_strategy": "SPREAD"}
        self._remote: dict[Task, Any] = {}
        self._refs: dict[Any, str] = {}

    def submit(self, key: str, fn: Task, arg: Any) -> None:
        if fn not in self._remote:
            self._remote[fn] = self._ray.remote(fn)
        self._refs[self._remote[fn].options(**self._options).remote(arg)] = key

    def pending(self) -> int:
        return len(self._refs)

    def wait(self, timeout: float | None = None) -> list[tuple[str, Any]]:
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        return [(self._refs.pop(ref), self._ray.get(ref)) for ref in ready]

    def shutdown(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._refs.clear()

    abort = shutdown


def make_executor(kind: str, workers: int | None = None, address: str | None = None, progress: bool = False):
    """The executor ``kind`` ("local" process pool, "serial" in-process, or "ray"). With
    ``progress``, its ``events`` queue carries steps inside tasks (epochs, chips) to the driver;
    Ray tasks report none."""
    if kind not in EXECUTORS:
        raise BerthError(f"unknown executor {kind!r}; allowed: {', '.join(EXECUTORS)}")
    if kind == "serial":
        import queue

        return SerialExecutor(queue.SimpleQueue() if progress else None)
    if kind == "ray":
        return RayExecutor(address, num_cpus=workers)
    return LocalExecutor(workers, events=mp.get_context("spawn").Queue(1000) if progress else None)
