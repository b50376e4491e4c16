"""Model choice under a latency budget: GENet-style candidates -> predictor filter -> profile -> RandBET.

1. draw ``candidates`` random GENet-style backbones (block type, width and depth per stage);
2. predict each one's latency (float equivalent, batch 1) from the per-layer lookup table,
   measuring and storing table entries it does not have yet, times the table's calibration
   (fitted first on ``calibration_models`` other backbones when the store has none);
3. keep those under the budget; shortlist the ``shortlist`` with the most FLOPs (capacity proxy);
4. profile the shortlist (measured end to end); the best is the one with the most FLOPs whose
   *measured* latency fits the budget;
5. train it with RandBET (rquant, clipping) on the data set, evaluate clean error and RErr over
   chips at ``p``, and write run, robustness and latency rows to the store, where ``berth select``
   and ``berth pareto`` find it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from berth.core.errors import BerthError
from berth.hardware.latency import calibration
from berth.models.genet import GenetArch, flops, plain_model, quant_model, random_arch
from berth.hardware.latency.calibration import predict_model
from berth.hardware.latency.layers import LatencyTable


@dataclass(frozen=True)
class SearchConfig:
    """Settings of ``berth search``."""

    latency_budget_ms: float = 1.0
    candidates: int = 40
    shortlist: int = 3
    p: float = 0.01
    epochs: int = 4
    chips: int = 10
    bits: int = 8
    w_max: float = 0.1
    seed: int = 0
    dataset: str = "digits"
    calibration_models: int = 8


@dataclass
class Candidate:
    arch: GenetArch
    flops: int
    predicted_ms: float
    measured_ms: float | None = None


def candidates(cfg: SearchConfig, shape: tuple[int, int, int], num_classes: int) -> list[Candidate]:
    """``cfg.candidates`` distinct random architectures for inputs of ``shape`` (predictions pending)."""
    rng, seen, out = random.Random(cfg.seed), set(), []
    for _ in range(cfg.candidates * 20):
        arch = random_arch(rng, input_size=shape[1], in_channels=shape[0], num_classes=num_classes)
        if arch.label() not in seen:
            seen.add(arch.label())
            out.append(Candidate(arch, flops(plain_model(arch), shape), float("nan")))
        if len(out) == cfg.candidates:
            break
    return out


def ensure_calibration(table: LatencyTable, measure: Callable, cfg: SearchConfig, shape: tuple[int, int, int],
                       say: Callable[[str], None]) -> calibration.Calibration:
    """The table's stored calibration at batch 1, fitted now on ``cfg.calibration_models`` backbones if missing."""
    cal = calibration.load(table, 1)
    if cal is None:
        say(f"  calibrating the predictor on {cfg.calibration_models} other backbones (measured end to end):")
        archs = calibration.calibration_archs(cfg.calibration_models, cfg.seed, shape)
        cal = calibration.calibrate(table, measure, archs, shape, progress=say)
    say(f"  calibration: predicted = {cal.scale:.3f} x sum of entries (IQR of measured / sum "
        f"{cal.ratio_q1:.3f}-{cal.ratio_q3:.3f} over {cal.models} models)")
    return cal


def predict_all(cands: list[Candidate], table: LatencyTable, shape: tuple[int, int, int]) -> None:
    """Fill each candidate's predicted latency (batch 1) from the lookup table."""
    x = torch.rand(1, *shape)
    for c in cands:
        c.predicted_ms = predict_model(plain_model(c.arch), x, table)


def shortlist(cands: list[Candidate], budget: float, k: int) -> list[Candidate]:
    """The ``k`` candidates with the most FLOPs among those predicted under ``budget`` ms."""
    fits = [c for c in cands if c.predicted_ms <= budget]
    if not fits:
        fastest = min(cands, key=lambda c: c.predicted_ms)
        raise BerthError(f"no candidate is predicted to meet the latency budget {budget:g} ms; the fastest "
                         f"predicted is {fastest.arch.label()} at {fastest.predicted_ms:.4g} ms")
    return sorted(fits, key=lambda c: -c.flops)[:k]


def best(short: list[Candidate], budget: float) -> Candidate:
    """The shortlisted candidate with the most FLOPs whose measured latency fits ``budget``."""
    fits = [c for c in short if c.measured_ms is not None and c.measured_ms <= budget]
    if not fits:
        fastest = min(short, key=lambda c: c.measured_ms)
        raise BerthError(f"no shortlisted candidate measures under the latency budget {budget:g} ms; the fastest "
                         f"measured is {fastest.arch.label()} at {fastest.measured_ms:.4g} ms")
    return max(fits, key=lambda c: c.flops)


def run_id_for(cfg: SearchConfig, arch: GenetArch) -> str:
    """A stable id for the trained winner (everything that decides its weights)."""
    blob = json.dumps({"search": dataclasses.asdict(cfg), "arch": arch.as_dict()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train_and_store(winner: Candidate, cfg: SearchConfig, data, store, out: Path,
                    say: Callable[[str], None]) -> dict:
    """Train the winner with RandBET, evaluate RErr over chips at ``cfg.p``, store run and robustness."""
    from berth.train.checkpoint import save_checkpoint
    from berth.core.provenance import machine_info, package_versions
    from berth.quant.faults import RandomBitErrors
    from berth.quant.evaluate import robust_error
    from berth.train.loop import TrainConfig, train

    model = quant_model(winner.arch, scheme="rquant", bits=cfg.bits, w_max=cfg.w_max, seed=cfg.seed)
    tcfg = TrainConfig(epochs=cfg.epochs, seed=cfg.seed, method="randbet", bet_p=cfg.p)
    started = time.time()
    history = train(model, data, tcfg, progress=False)
    train_s = time.time() - started
    res = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(cfg.p, chip=k) for k in range(cfg.chips)])
    run_id = run_id_for(cfg, winner.arch)
    ckpt = save_checkpoint(out / f"{run_id}.pt", model, epoch=cfg.epochs, seed=cfg.seed,
                           config=dataclasses.asdict(tcfg), metrics=history)
    config = {"search": dataclasses.asdict(cfg), "arch": winner.arch.as_dict(), "train": dataclasses.asdict(tcfg)}
    store.add_run({"run_id": run_id, "sweep": "search", "label": "randbet", "model": "genet", "scheme": "rquant",
                   "bits": cfg.bits, "method": "randbet", "w_max": cfg.w_max, "seed": cfg.seed, "config": config,
                   "seeds": {"train": cfg.seed, "chips": list(range(cfg.chips))}, "versions": package_versions(),
                   "machine": machine_info(), "clean_error": res.clean_error, "history": history,
                   "checkpoint": str(ckpt), "started": started, "finished": time.time(), "train_s": train_s})
    store.add_evaluation({"run_id": run_id, "errors": "random", "spec": {"kind": "random", "label": "random"},
                          "clean_error": res.clean_error, "n_test": len(data.y_test), "chips": cfg.chips,
                          "eval_s": 0.0, "machine": machine_info(), "finished": time.time()},
                         [(cfg.p, k, float(r)) for k, r in enumerate(res.rerr)])
    say(f"trained {winner.arch.label()} with RandBET (p = {cfg.p:g}, {cfg.epochs} epochs, {train_s:.0f} s): "
        f"clean error {res.clean_error * 100:.2f}%, RErr at p = {cfg.p * 100:g}% {res.mean * 100:.2f}% "
        f"± {res.std * 100:.2f} over {cfg.chips} chips (worst {res.worst * 100:.2f}%)")
    return {"run_id": run_id, "model": model, "clean_error": res.clean_error, "rerr": res.mean}
