"""Timing one iteration honestly: an event-pair timer abstraction, warm-up by time, the CPU path.

A ``Timer`` is an event factory plus a synchronize function. On a GPU the events are
``torch.cuda.Event(enable_timing=True)`` and ``torch.cuda.synchronize`` (``berth.hardware.latency.cuda``):
asynchronous kernel launches are timed on the device, and the host waits once, after the last
iteration. On the CPU (and in tests) ``WallEvent`` is a stand-in with the same two methods
(``record``, ``elapsed_time`` in ms), so ``event_samples`` is one code path for both.

Warm-up runs for a *time*, not a count: allocator, kernel selection (cuDNN autotuning), caches
and clock boosts settle after a duration, whatever one iteration costs.

The CPU path (``cpu_samples``) uses ``torch.utils.benchmark.Timer`` (which fixes the thread count
and disables the garbage collector while timing): each sample is the mean of ``number`` calls
chosen so that one sample lasts ``block_s``, because a single sub-millisecond call is below the
resolution at which a shared CPU gives stable numbers.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import torch

from berth.core.errors import BerthError


class Event(Protocol):
    """What ``torch.cuda.Event(enable_timing=True)`` offers: ``record()`` and ``elapsed_time(end)`` (ms)."""

    def record(self) -> None: ...

    def elapsed_time(self, end: "Event") -> float: ...


class WallEvent:
    """CPU stand-in for a CUDA timing event: ``record`` stamps a monotonic nanosecond clock."""

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns):
        self.clock = clock
        self.stamp: int | None = None

    def record(self) -> None:
        self.stamp = self.clock()

    def elapsed_time(self, end: "WallEvent") -> float:
        if self.stamp is None or end.stamp is None:
            raise RuntimeError("elapsed_time needs both events recorded")
        return (end.stamp - self.stamp) / 1e6


@dataclass(frozen=True)
class Timer:
    """How iterations are timed: ``make_event()`` gives a fresh event, ``synchronize()`` waits for the device."""

    name: str
    make_event: Callable[[], Event]
    synchronize: Callable[[], None]


def wall_timer() -> Timer:
    """Host wall-clock timer (nothing to synchronize): the CPU stand-in for CUDA events."""
    return Timer("wall-clock", WallEvent, lambda: None)


def thread_timer() -> Timer:
    """The calling thread's CPU time as events (single-threaded CPU work on a shared machine)."""
    return Timer("thread-cpu-time", lambda: WallEvent(time.thread_time_ns), lambda: None)


def warmup_by_time(fn: Callable[[], object], seconds: float, synchronize: Callable[[], None] = lambda: None,
                   clock: Callable[[], float] = time.perf_counter, min_calls: int = 1) -> int:
    """Call ``fn`` (synchronizing after each call) until ``seconds`` have passed and ``min_calls`` ran.

    Returns the number of calls made.
    """
    if not seconds >= 0:
        raise BerthError(f"warm-up = {seconds!r} s must be >= 0")
    start, calls = clock(), 0
    while calls < min_calls or clock() - start < seconds:
        fn()
        synchronize()
        calls += 1
    return calls


def event_samples(fn: Callable[[], object], timer: Timer, repeats: int,
                  before: Callable[[], object] | None = None) -> list[float]:
    """Time ``repeats`` calls of ``fn``, each between its own pair of events; returns ms per call.

    ``before`` (e.g. an L2-cache flush) runs before each call, outside its events. The host
    synchronizes once before the loop and once after it, never inside, so on a GPU launch
    overhead that the device hides is not counted and launch-bound work still is.
    """
    if repeats < 1:
        raise BerthError(f"repeats = {repeats!r} must be >= 1")
    pairs = [(timer.make_event(), timer.make_event()) for _ in range(repeats)]
    timer.synchronize()
    for start, end in pairs:
        if before is not None:
            before()
        start.record()
        fn()
        end.record()
    timer.synchronize()
    return [start.elapsed_time(end) for start, end in pairs]


@contextmanager
def num_threads(n: int) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(n)``, restoring the previous count after."""
    if not isinstance(n, int) or n < 1:
        raise BerthError(f"threads = {n!r} must be an integer >= 1")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class CpuSamples:
    """Per-call times (ms) of ``repeats`` samples, each the mean of ``number`` calls."""

    samples_ms: list[float]
    number: int
    warmup_calls: int
    threads: int


CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}


def check_clock(clock: str, threads: int) -> None:
    """``thread`` CPU time is a latency only when one thread does all the work."""
    if clock not in CLOCKS:
        raise BerthError(f"unknown clock {clock!r}; allowed: {', '.join(CLOCKS)}")
    if clock == "thread" and threads != 1:
        raise BerthError(f"clock 'thread' measures one thread's CPU time; it needs threads = 1, not {threads}")


def cpu_samples(fn: Callable[[], object], threads: int, repeats: int = 50, block_s: float = 0.01,
                warmup_s: float = 0.2, clock: str = "wall") -> CpuSamples:
    """CPU latency samples of ``fn`` with ``torch.utils.benchmark`` at ``threads`` threads.

    ``clock="wall"`` (default) is elapsed time: the latency a caller sees, including any time the
    process waits for the CPU on a busy machine. ``clock="thread"`` is the calling thread's CPU
    time (single-threaded only): time spent descheduled is excluded, so on a shared machine it
    estimates the quiet machine's latency (other processes' cache pollution still counts).
    """
    from torch.utils.benchmark import Timer as BenchTimer

    if repeats < 1:
        raise BerthError(f"repeats = {repeats!r} must be >= 1")
    check_clock(clock, threads)
    with num_threads(threads):
        calls = warmup_by_time(fn, warmup_s)
        bench = BenchTimer(stmt="fn()", globals={"fn": fn}, num_threads=threads, timer=CLOCKS[clock])
        probe = min(bench.timeit(1).times[0] for _ in range(3))
        number = max(1, math.ceil(block_s / max(probe, 1e-7)))
        samples = [bench.timeit(number).times[0] * 1e3 for _ in range(repeats)]
    return CpuSamples(samples, number, calls, threads)
