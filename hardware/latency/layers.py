"""Per-layer latency: layer configurations, in-situ times (hooks) and a lookup table with a predictor.

The table follows nn-Meter: a model's latency is predicted as the sum of its layers' latencies,
each measured once in isolation and stored under its configuration — (op, in/out channels, kernel,
stride, groups, input feature map h x w, batch) on a (dtype, device, threads) — in the results
store's ``layer_latency`` table. A configuration not yet in the table is measured on first use
(from a copy of the layer, on a random input of the recorded shape) and stored.

Layers are the leaf modules of a plain torch model (use ``variants.float_equivalent`` for a
Brevitas model). Work done outside modules (e.g. a residual ``a + b`` written in ``forward``) is
invisible to hooks and to the predictor; GENet-style models use an ``Add`` module for it.

Each non-leaf module call (the model, its blocks and Sequentials) adds one table entry
``container``: the Python dispatch a wrapper costs around its children.

``hook_times`` measures every layer inside the running model: forward pre/post hooks record a
timer event around each leaf (CUDA events on a GPU, the wall-clock stand-in on the CPU).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from berth.core.store import now_utc
from berth.models.genet import Add
from berth.hardware.latency.stats import LatencyStats
from berth.hardware.latency.timing import Timer

OPS = {nn.Conv2d: "conv", nn.Linear: "linear", nn.BatchNorm2d: "batchnorm", nn.GroupNorm: "groupnorm",
       nn.ReLU: "relu", nn.MaxPool2d: "maxpool", nn.AdaptiveAvgPool2d: "avgpool",
       nn.AdaptiveMaxPool2d: "gmaxpool", nn.Flatten: "flatten", nn.Identity: "identity", nn.Sequential: "identity", Add: "add"}


@dataclass(frozen=True)
class LayerConfig:
    """The key of a layer in the lookup table (without dtype, device and threads)."""

    op: str
    cin: int
    cout: int
    kernel: int
    stride: int
    groups: int
    h: int
    w: int
    batch: int


@dataclass
class LayerCall:
    """One leaf module called in a forward pass: its name, module, config and input shapes."""

    name: str
    module: nn.Module
    config: LayerConfig
    input_shapes: list[tuple[int, ...]]


def op_name(module: nn.Module) -> str:
    """The table's name for a module's operation (the class name for unknown types)."""
    for cls in type(module).__mro__:
        if cls in OPS:
            return OPS[cls]
    return type(module).__name__


def _pair(v) -> int:
    return int(v[0] if isinstance(v, (tuple, list)) else v)


def layer_config(module: nn.Module, inputs: tuple, output: torch.Tensor) -> LayerConfig:
    """The configuration of ``module`` called on ``inputs`` giving ``output``."""
    x = inputs[0]
    batch = int(x.shape[0])
    h, w = (int(x.shape[2]), int(x.shape[3])) if x.dim() == 4 else (1, 1)
    cin = int(x.shape[1]) if x.dim() >= 2 else 1
    cout = int(output.shape[1]) if output.dim() >= 2 else 1
    op = op_name(module)
    kernel = _pair(getattr(module, "kernel_size", 0) or 0)
    stride = _pair(getattr(module, "stride", 0) or 0)
    groups = int(getattr(module, "groups", getattr(module, "num_groups", 1)) or 1)
    if op == "linear":
        cin, cout = module.in_features, module.out_features
    return LayerConfig(op, cin, cout, kernel, stride, groups, h, w, batch)


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def layer_calls(model: nn.Module, x: torch.Tensor) -> list[LayerCall]:
    """Every leaf module call of one forward pass of ``model`` on ``x``, in call order."""
    calls: list[LayerCall] = []

    def hook(name: str) -> Callable:
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            shapes = [tuple(t.shape) for t in inputs if isinstance(t, torch.Tensor)]
            calls.append(LayerCall(name, module, layer_config(module, inputs, output), shapes))
        return record

    _forward_with_hooks(model, x, [m.register_forward_hook(hook(n)) for n, m in _leaves(model)])
    return calls


def container_calls(model: nn.Module, x: torch.Tensor) -> int:
    """How many non-leaf module calls (the model itself, blocks, Sequentials) one forward pass makes."""
    count = 0

    def hook(module: nn.Module, inputs: tuple) -> None:
        nonlocal count
        count += 1

    _forward_with_hooks(model, x, [m.register_forward_pre_hook(hook) for _, m in model.named_modules()
                                   if list(m.children())])
    return count


def _forward_with_hooks(model: nn.Module, x: torch.Tensor, handles: list) -> None:
    """One inference pass of ``model`` on ``x``, then remove the hook ``handles`` (even on error)."""
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()


CONTAINER = LayerConfig("container", 0, 0, 0, 0, 1, 0, 0, 1)


def hook_times(model: nn.Module, x: torch.Tensor, timer: Timer, repeats: int = 20,
               warmup: int = 3) -> list[float]:
    """Median in-situ ms of each leaf-module call (in call order) over ``repeats`` forward passes."""
    passes: list[list] = []
    pending: list = []

    def start(module: nn.Module, inputs: tuple) -> None:
        event = timer.make_event()
        event.record()
        pending.append(event)

    def stop(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        end = timer.make_event()
        end.record()
        passes[-1].append((pending.pop(), end))

    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        leaves = [m for _, m in _leaves(model)]
        handles = [m.register_forward_pre_hook(start) for m in leaves]
        handles += [m.register_forward_hook(stop) for m in leaves]
        try:
            timer.synchronize()
            for _ in range(repeats):
                passes.append([])
                model(x)
            timer.synchronize()
        finally:
            for h in handles:
                h.remove()
    times = np.array([[s.elapsed_time(e) for s, e in calls] for calls in passes])
    return [float(v) for v in np.median(times, axis=0)]


STATISTICS = {"median": "ms_median", "min": "ms_min"}


class LatencyTable:
    """The lookup table of one (device, dtype, threads) in a store; measures missing entries.

    ``statistic`` picks what an entry is: the median (default) or the minimum of its samples —
    on a loaded machine preemptions only ever add time, so the minimum estimates the quiet
    machine's latency (compare it with minima, never with medians).
    """

    def __init__(self, store, measure: Callable[[Callable[[], object]], tuple], device: torch.device,
                 dtype: str, threads: int, statistic: str = "median"):
        from berth.core.errors import check_choice

        check_choice("statistic", statistic, tuple(STATISTICS))
        self.store, self.measure, self.device, self.dtype, self.threads = store, measure, device, dtype, threads
        self.statistic = statistic
        self.context = {"dtype": dtype, "device": str(device), "threads": threads}
        column = STATISTICS[statistic]
        rows = store.query("layer_latency", self.context)
        self.entries = {LayerConfig(**{k: r[k] for k in LayerConfig.__dataclass_fields__}): r[column]
                        for r in rows if r.get(column) is not None}
        self.measured = 0

    def entry(self, call: LayerCall) -> float:
        """The table's ms for ``call``'s configuration, measured and stored if missing."""
        if call.config not in self.entries:
            self.entries[call.config] = self._store(call.config, self._measure(call.module, call.input_shapes))
        return self.entries[call.config]

    def container(self) -> float:
        """ms a non-leaf module call adds around its children (a Sequential holding an Identity,
        minus the Identity alone; at least 0)."""
        if CONTAINER not in self.entries:
            shape = [(1, 8)]
            wrapped = self._measure(nn.Sequential(nn.Identity()), shape)
            bare = self._measure(nn.Identity(), shape)
            extra = LatencyStats(wrapped.n, max(0.0, wrapped.median - bare.median), 0.0, 0.0, 0.0, 0.0,
                                 max(0.0, wrapped.minimum - bare.minimum), 0.0)
            self.entries[CONTAINER] = self._store(CONTAINER, extra)
        return self.entries[CONTAINER]

    def on_target(self, model: nn.Module, *inputs: torch.Tensor) -> tuple[nn.Module, ...]:
        """A copy of ``model`` and ``inputs`` on the table's device and dtype (what gets timed)."""
        from berth.hardware.latency.profiler import DTYPES

        dtype = DTYPES[self.dtype]
        return (copy.deepcopy(model).eval().to(device=self.device, dtype=dtype),
                *(x.to(device=self.device, dtype=dtype) for x in inputs))

    def _measure(self, module: nn.Module, shapes: list[tuple[int, ...]]) -> LatencyStats:
        """Latency of ``module`` alone on random inputs of ``shapes``."""
        from berth.hardware.latency.profiler import torch_call

        gen = torch.Generator().manual_seed(0)
        stats, _ = self.measure(torch_call(*self.on_target(module, *(torch.rand(s, generator=gen) for s in shapes))))
        return stats

    def _store(self, config: LayerConfig, stats: LatencyStats) -> float:
        self.store.insert("layer_latency", {**asdict(config), **self.context, "ms_median": stats.median,
                                            "ms_iqr": stats.iqr, "ms_min": stats.minimum, "samples": stats.n,
                                            "measured": now_utc()}, on_conflict="replace")
        self.measured += 1
        return stats.median if self.statistic == "median" else stats.minimum


def predict(calls: Iterable[LayerCall], table: LatencyTable, containers: int = 0) -> tuple[float, list[float]]:
    """Predicted ms of a model: the sum of its layers' table entries plus ``containers`` times the
    cost of a container call (from ``container_calls``); also returns the layers' entries."""
    parts = [table.entry(c) for c in calls]
    overhead = containers * table.container() if containers else 0.0
    return float(sum(parts) + overhead), parts


def predict_model_raw(model: nn.Module, x: torch.Tensor, table: LatencyTable) -> float:
    """Uncalibrated ms of ``model`` on ``x``: its leaf layers' entries plus its container calls."""
    return predict(layer_calls(model, x), table, container_calls(model, x))[0]

