"""Calibration of the per-layer latency predictor against end-to-end measurements.

The sum of isolated per-layer table entries misses what a model adds when its layers run one
after another (caches holding the previous layer's data instead of this one's, the allocator,
the dispatcher): on these CPUs it under-predicts whole models by 15–40%, consistently. A
calibration is one factor, the median of measured / predicted over calibration models — random
GENet-style backbones drawn with their own seed, never the models it then predicts. It is stored
per lookup table (device, dtype, threads, statistic) and batch size, with the spread of the
ratios it came from, and applied by ``predict_model`` whenever one exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from berth.core.errors import BerthError
from berth.core.store import now_utc
from berth.hardware.latency.layers import predict_model_raw
from berth.models.genet import GenetArch, plain_model, random_arch

TABLE = "latency_calibration"


@dataclass(frozen=True)
class Calibration:
    """Predicted latency = ``scale`` x (sum of table entries); ``ratio_q1``..``ratio_q3`` is the
    interquartile range of measured / sum over the ``models`` calibration models."""

    scale: float
    ratio_q1: float
    ratio_q3: float
    models: int

    def apply(self, raw_ms: float) -> float:
        return self.scale * raw_ms


def fit(raw_ms: list[float], measured_ms: list[float]) -> Calibration:
    """The calibration of predictions ``raw_ms`` against ``measured_ms`` (same models, same order)."""
    if len(raw_ms) != len(measured_ms) or len(raw_ms) < 3:
        raise BerthError(f"a latency calibration needs at least 3 models with predictions and measurements, got {len(raw_ms)}")
    ratios = np.asarray(measured_ms, dtype=float) / np.asarray(raw_ms, dtype=float)
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return Calibration(float(med), float(q1), float(q3), len(ratios))


def calibration_archs(n: int, seed: int, shape: tuple[int, int, int], **kw) -> list[GenetArch]:
    """``n`` calibration backbones from their own random stream ("calibration", ``seed``), so they are
    not the candidates or test models drawn from ``seed``; ``kw`` goes to ``random_arch``."""
    rng = random.Random(f"calibration-{seed}")
    return [random_arch(rng, input_size=shape[1], in_channels=shape[0], **kw) for _ in range(n)]


def calibrate(table, measure: Callable, archs: list[GenetArch], shape: tuple[int, int, int], batch: int = 1,
              progress: Callable[[str], None] | None = None) -> Calibration:
    """Fit, store and return the calibration of ``table`` at ``batch`` on ``archs`` (measured end to end)."""
    from berth.hardware.latency.profiler import torch_call

    raw, measured = [], []
    for arch in archs:
        net, x = plain_model(arch), torch.rand(batch, *shape)
        raw.append(predict_model_raw(net, x, table))
        stats, _ = measure(torch_call(*table.on_target(net, x)))
        measured.append(stats.median if table.statistic == "median" else stats.minimum)
        if progress:
            progress(f"  {arch.label():<40} sum of entries {raw[-1]:8.4f} ms  measured {measured[-1]:8.4f} ms")
    cal = fit(raw, measured)
    table.store.insert(TABLE, {**_key(table, batch), "scale": cal.scale, "ratio_q1": cal.ratio_q1,
                               "ratio_q3": cal.ratio_q3, "models": cal.models,
                               "archs": [a.label() for a in archs], "measured": now_utc()}, on_conflict="replace")
    return cal


def load(table, batch: int) -> Calibration | None:
    """The stored calibration of ``table`` at ``batch``, if any."""
    rows = table.store.query(TABLE, _key(table, batch))
    if not rows:
        return None
    r = rows[0]
    return Calibration(r["scale"], r["ratio_q1"], r["ratio_q3"], r["models"])


def _key(table, batch: int) -> dict:
    return {**table.context, "statistic": table.statistic, "batch": int(batch)}


def predict_model(model, x: torch.Tensor, table) -> float:
    """Predicted ms of ``model`` on ``x``: the sum of its table entries (``layers.predict_model_raw``),
    times the table's stored calibration at this batch size when there is one."""
    raw = predict_model_raw(model, x, table)
    cal = load(table, x.shape[0])
    return cal.apply(raw) if cal else raw
