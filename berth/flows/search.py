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

With ``hw`` the candidates use only the block types hls4ml converts exactly (XX, BL: no depthwise
convolution) and the winner is trained as a hardware build (fixed-point weights, 8-bit
activations, global max pool), so ``berth hls export`` takes its model file as it is.
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

from berth.core.errors import MAX_CHIPS, BerthError, check_range, check_seed
from berth.hardware.latency import calibration
from berth.hardware.latency.calibration import predict_model
from berth.hardware.latency.layers import LatencyTable
from berth.models import create_model
from berth.models.genet import BLOCKS, GenetArch, arch_options, flops, plain_model, random_arch

HW_BLOCKS = ("XX", "BL")  # hls4ml's route has no grouped (depthwise) convolution


MAX_CANDIDATES = 10_000  # candidates, shortlist and calibration models: more is a typo, not a search


@dataclass(frozen=True)
class SearchConfig:
    """Settings of ``berth search``."""

    latency_budget_ms: float = 1.0  # latency budget in ms
    candidates: int = 40  # random GENet-style candidates
    shortlist: int = 3  # candidates profiled end to end
    p: float = 0.01  # bit error rate for RandBET and the evaluation
    epochs: int = 4  # RandBET epochs of the winner
    chips: int = 10  # chips for the winner's RErr
    bits: int = 8  # weight bits
    w_max: float = 0.1  # weight clipping range of RandBET's rquant (not with hw)
    seed: int = 0  # seed of candidates, training and chips
    dataset: str = "digits"  # digits, mnist, cifar10, npz or images
    calibration_models: int = 8  # backbones measured to calibrate the latency predictor
    hw: bool = False  # train the winner as a hardware build that hls export takes
    data_dir: str | None = None  # where the data set's files are (mnist, cifar10, npz, images)

    def __post_init__(self) -> None:
        check_range("bit error rate p", self.p, 0.0, 1.0)
        if not self.latency_budget_ms > 0:
            raise BerthError(f"latency budget {self.latency_budget_ms!r} ms must be > 0")
        for what, low, high in (("candidates", 1, MAX_CANDIDATES), ("shortlist", 1, MAX_CANDIDATES),
                                ("chips", 1, MAX_CHIPS), ("epochs", 0, 10_000),
                                ("calibration_models", 3, MAX_CANDIDATES)):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BerthError(f"{what} = {value!r} is not allowed; allowed: integers {low}..{high}")
        check_seed("seed", self.seed)
        if self.shortlist > self.candidates:
            raise BerthError(f"shortlist = {self.shortlist} is not allowed; allowed: 1..{self.candidates} (the "
                             "candidates it is drawn from)")

    def blocks(self) -> tuple[str, ...]:
        """The block types candidates may use."""
        return HW_BLOCKS if self.hw else BLOCKS

    def model_options(self) -> dict:
        """How the winner is quantized: RandBET's rquant with clipping, or a hardware build."""
        if self.hw:
            return {"scheme": "fixed", "bits": self.bits, "act_bits": 8, "hw": True, "head": "max"}
        return {"scheme": "rquant", "bits": self.bits, "w_max": self.w_max}


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
        arch = random_arch(rng, input_size=shape[1], in_channels=shape[0], num_classes=num_classes,
                           blocks=cfg.blocks())
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
    from berth.flows.records import record_run
    from berth.train.checkpoint import save_checkpoint
    from berth.quant.faults import RandomBitErrors
    from berth.quant.evaluate import robust_error
    from berth.train.loop import TrainConfig, train

    model = create_model("genet", seed=cfg.seed, **cfg.model_options(), **arch_options(winner.arch))
    tcfg = TrainConfig(epochs=cfg.epochs, seed=cfg.seed, method="randbet", bet_p=cfg.p)
    started = time.time()
    history = train(model, data, tcfg)
    train_s = time.time() - started
    res = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(cfg.p, chip=k) for k in range(cfg.chips)])
    run_id = run_id_for(cfg, winner.arch)
    ckpt = save_checkpoint(out / f"{run_id}.pt", model, epoch=cfg.epochs, seed=cfg.seed,
                           config=dataclasses.asdict(tcfg), metrics=history)
    config = {"search": dataclasses.asdict(cfg), "arch": winner.arch.as_dict(), "train": dataclasses.asdict(tcfg)}
    opts = cfg.model_options()
    record_run(store, {"run_id": run_id, "command": "search", "label": "search", "model": "genet",
                       "scheme": opts["scheme"], "bits": cfg.bits, "method": "randbet", "w_max": opts.get("w_max") or 0.0,
                       "seed": cfg.seed, "config": config, "seeds": {"train": cfg.seed, "chips": list(range(cfg.chips))},
                       "clean_error": res.clean_error, "history": history, "checkpoint": str(Path(ckpt).resolve()),
                       "started": started, "train_s": train_s},
               [(cfg.p, k, float(r)) for k, r in enumerate(res.rerr)], len(data.y_test))
    say(f"trained {winner.arch.label()} with RandBET (p = {cfg.p:g}, {cfg.epochs} epochs, {train_s:.0f} s): "
        f"clean error {res.clean_error * 100:.2f}%, RErr at p = {cfg.p * 100:g}% {res.mean * 100:.2f}% "
        f"± {res.std * 100:.2f} over {cfg.chips} chips (worst {res.worst * 100:.2f}%)")
    return {"run_id": run_id, "model": model, "clean_error": res.clean_error, "rerr": res.mean, "checkpoint": ckpt}


def search(cfg: SearchConfig, settings, store_path: str | Path | None, out: Path,
           say: Callable[[str], None]) -> dict:
    """The whole search (steps 1-5 above, then the trained winner profiled), reporting each step
    through ``say``; returns the winner's run (``run_id``, ``model``, ``clean_error``, ``rerr``,
    ``checkpoint``) and the store it went to."""
    from berth.data.datasets import load_dataset
    from berth.hardware.latency.cuda import check_device
    from berth.hardware.latency.profiler import Measurer, profile_model, torch_call
    from berth.hardware.latency.report import open_table
    from berth.hardware.latency.tables import open_store

    from berth.core.files import check_writable

    check_writable(out, keep=False)  # where the winner goes, before any work
    device = check_device(settings.device)
    settings = dataclasses.replace(settings, device=str(device))  # rows name the device as "cuda:0"
    data = load_dataset(cfg.dataset, seed=cfg.seed, data_dir=cfg.data_dir)
    shape = data.shape
    with open_store(store_path) as store:
        say(f"results store: {store.path}; {settings.where()}; budget {cfg.latency_budget_ms:g} ms "
            "(float-equivalent model, batch 1, float32)")
        cands = candidates(cfg, shape, data.num_classes)
        say(f"\nstep 1: {len(cands)} GENet-style candidates (block/width/depth per stage at {shape[1]}/"
            f"{shape[1] // 2}/{shape[1] // 4} px), e.g. {cands[0].arch.label()}")
        table = open_table(store, settings, "float32")
        measure = Measurer(settings, device)
        say("step 2: latency predicted from the lookup table, calibrated")
        ensure_calibration(table, measure, cfg, shape, say)
        predict_all(cands, table, shape)
        say(f"  ({len(table.entries)} table entries, {table.measured} measured now)")
        for c in sorted(cands, key=lambda c: c.predicted_ms):
            mark = "<= budget" if c.predicted_ms <= cfg.latency_budget_ms else ""
            say(f"  {c.arch.label():<40} {c.flops / 1e6:7.3f} MFLOPs  predicted {c.predicted_ms:8.4f} ms {mark}")
        short = shortlist(cands, cfg.latency_budget_ms, cfg.shortlist)
        fits = sum(c.predicted_ms <= cfg.latency_budget_ms for c in cands)
        say(f"step 3: {fits} predicted under budget; shortlist = the {len(short)} with most FLOPs")
        say("step 4: shortlist profiled end to end (float equivalent, batch 1)")
        for c in short:
            net, x = plain_model(c.arch), torch.rand(1, *shape)
            stats, _ = measure(torch_call(*table.on_target(net, x)))
            c.measured_ms = stats.median
            say(f"  {c.arch.label():<40} predicted {c.predicted_ms:8.4f} ms  measured {stats.median:8.4f} ms "
                f"(IQR/median {stats.rel_iqr * 100:.0f}%, error {(c.predicted_ms / stats.median - 1) * 100:+.0f}%)")
        win = best(short, cfg.latency_budget_ms)
        say(f"step 5: best = {win.arch.label()} ({win.flops / 1e6:.3f} MFLOPs, {win.measured_ms:.4f} ms); "
            f"training with RandBET")
        result = train_and_store(win, cfg, data, store, out, say)
        say(f"step 6: profiling the trained model; run {result['run_id']} stored in {store.path}")
        prof = profile_model(result["model"], shape, settings, "genet", result["run_id"])
        store.insert("latency", prof.rows, on_conflict="replace")
        return {**result, "store": store.path, "device": device}
