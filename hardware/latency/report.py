"""The per-layer table of one profiled model: lookup-table entries beside in-situ hook times.

For the float-equivalent model at each profiled batch size (first dtype): every leaf layer with
its configuration, its table entry (measured in isolation, shared by every model with the same
layer), its in-situ time from forward hooks, and the predictor's total (sum of entries) against
the measured end-to-end latency.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from berth.hardware.latency.layers import LatencyTable, container_calls, hook_times, layer_calls, predict
from berth.hardware.latency.profiler import DTYPES, Measurer, Profile, ProfileSettings, model_key
from berth.hardware.latency.timing import num_threads, thread_timer, wall_timer
from berth.hardware.latency.variants import float_equivalent


def table_settings(s: ProfileSettings) -> ProfileSettings:
    """Settings for lookup-table entries: fewer samples and a short warm-up (there are many small
    layers), but the same sample length as end-to-end profiles — on a shared CPU a longer sample
    catches more preemptions, so mixing lengths would bias the predictor against the measurement."""
    return dataclasses.replace(s, repeats=max(5, min(s.repeats, 15)), warmup_s=min(s.warmup_s, 0.05))


def open_table(store, s: ProfileSettings, dtype: str, statistic: str = "median") -> LatencyTable:
    """The lookup table of ``s``'s device, ``dtype`` and thread count in ``store``."""
    device = torch.device(s.device)
    threads = s.thread_count if device.type == "cpu" else 0
    return LatencyTable(store, Measurer(table_settings(s), device), device, dtype, threads, statistic)


def layer_report(store, model: nn.Module, shape: tuple[int, int, int], s: ProfileSettings, prof: Profile,
                 say=print) -> list[dict]:
    """Print and store the per-layer table of ``model``'s float equivalent; returns the stored rows."""
    device, dtype = torch.device(s.device), s.dtypes[0]
    net = float_equivalent(model).to(device=device, dtype=DTYPES[dtype])
    key = model_key(getattr(model, "berth_config", None), type(model).__name__)
    table = open_table(store, s, dtype)
    timer = thread_timer() if s.clock == "thread" else wall_timer()
    if device.type == "cuda":
        from berth.hardware.latency.cuda import cuda_timer

        timer = cuda_timer(device)
    rows = []
    for batch in s.batches:
        x = torch.rand(batch, *shape).to(device=device, dtype=DTYPES[dtype])
        calls = layer_calls(net, x)
        total, parts = predict(calls, table, container_calls(net, x))
        with num_threads(s.thread_count):
            hooks = hook_times(net, x, timer, repeats=max(5, s.repeats // 2))
        measured = next((r["ms_median"] for r in prof.rows if r["variant"] == "float" and r["batch"] == batch
                         and r["dtype"] == dtype), None)
        say(f"\n  per-layer table, float equivalent, batch {batch}, {dtype} (table = isolated entry, hook = in situ)")
        say(f"  {'layer':<28} {'op':<10} {'config':<34} {'table ms':>9} {'hook ms':>9} {'share':>6}")
        for i, (c, ms) in enumerate(zip(calls, parts)):
            cfg = c.config
            desc = f"{cfg.cin}->{cfg.cout} k{cfg.kernel} s{cfg.stride} g{cfg.groups} {cfg.h}x{cfg.w}"
            say(f"  {c.name:<28} {cfg.op:<10} {desc:<34} {ms:9.4f} {hooks[i]:9.4f} "
                f"{ms / total * 100 if total else 0:5.1f}%")
            rows.append({"model_key": key, "device": str(device), "dtype": dtype, "batch": batch,
                         "threads": table.threads, "idx": i, "name": c.name, "op": cfg.op,
                         "config": dataclasses.asdict(cfg), "table_ms": ms, "hook_ms": hooks[i]})
        say(f"  {'(container calls)':<28} {'container':<10} {'x' + str(container_calls(net, x)):<34} "
            f"{total - sum(parts):9.4f}")
        line = f"  predicted (sum of table entries incl. container calls) {total:.4f} ms"
        if measured is not None:
            line += f"; measured end to end {measured:.4f} ms ({(total / measured - 1) * 100:+.1f}%)"
        say(line + f"; {table.measured} new table entries measured")
    store.insert("latency_layers", rows, on_conflict="replace")
    return rows
