"""``berth search``: choose a model under a latency budget, then train it with RandBET — end to end.

A small demo on the embedded digits that prints each step: GENet-style candidates (block type,
width and depth per stage) -> latency predicted from the per-layer lookup table (entries it lacks
are measured and stored; calibrated against end-to-end measurements of a few other backbones the
first time) -> those under --latency-budget, shortlisted by FLOPs -> the shortlist
profiled end to end -> the best (most FLOPs measured under the budget) trained with RandBET
(rquant, clipping) and evaluated under random bit errors at --p -> run, robustness and latency
stored, so ``berth select`` and ``berth pareto`` see it. Latency is that of the float-equivalent
model, batch 1, float32, on the CPU at --threads threads or, with --device cuda, on the GPU (CUDA
events; the lookup table and its calibration are kept per device). Training runs on the CPU.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="GENet-style candidates under a latency budget, best trained with RandBET",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--latency-budget", type=float, default=1.0, metavar="MS", help="budget in ms (default 1.0)")
    p.add_argument("--p", type=float, default=0.01, help="bit error rate for RandBET and evaluation (default 0.01)")
    p.add_argument("--candidates", type=int, default=40, help="random candidates (default 40)")
    p.add_argument("--shortlist", type=int, default=3, help="candidates profiled end to end (default 3)")
    p.add_argument("--epochs", type=int, default=4, help="RandBET epochs (default 4)")
    p.add_argument("--chips", type=int, default=10, help="chips for RErr (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="where latency is measured: cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for all timing (default 1)")
    p.add_argument("--clock", default="wall", choices=("wall", "thread"),
                   help="wall = elapsed time (default); thread = CPU time of the thread (busy machines)")
    p.add_argument("--repeats", type=int, default=30, help="samples per end-to-end measurement (default 30)")
    p.add_argument("--calibration-models", type=int, default=8,
                   help="backbones measured to calibrate the predictor when the store has no calibration (default 8)")
    p.add_argument("--out", default="runs/search", help="where the winner's checkpoint goes")
    p.add_argument("--store", default=None, help="results store (default: runs/sweeps/default/results.sqlite)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from berth.data.datasets import load_dataset
    from berth.core.errors import BerthError, check_range
    from berth.flows import search as S
    from berth.hardware.latency.cuda import check_device
    from berth.models.genet import plain_model
    from berth.hardware.latency.profiler import Measurer, ProfileSettings, profile_model, torch_call
    from berth.hardware.latency.report import open_table
    from berth.hardware.latency.tables import open_store

    check_range("bit error rate p", args.p, 0.0, 1.0)
    if not args.latency_budget > 0:
        raise BerthError(f"latency budget {args.latency_budget!r} ms must be > 0")
    for what, v in (("candidates", args.candidates), ("shortlist", args.shortlist), ("chips", args.chips)):
        if v < 1:
            raise BerthError(f"{what} = {v} must be >= 1")
    if args.calibration_models < 3:
        raise BerthError(f"calibration models = {args.calibration_models} must be >= 3")
    cfg = S.SearchConfig(args.latency_budget, args.candidates, args.shortlist, args.p, args.epochs, args.chips,
                         seed=args.seed, calibration_models=args.calibration_models)
    device = check_device(args.device)
    s = ProfileSettings(device=str(device), batches=(1,), variants=("simulation", "float"), repeats=args.repeats,
                        threads=args.threads, clock=args.clock)
    data = load_dataset(cfg.dataset, seed=cfg.seed)
    shape = data.shape
    with open_store(args.store) as store:
        print(f"results store: {store.path}; {s.where()}; budget {cfg.latency_budget_ms:g} ms "
              "(float-equivalent model, batch 1, float32)")
        cands = S.candidates(cfg, shape, data.num_classes)
        print(f"\nstep 1: {len(cands)} GENet-style candidates (block/width/depth per stage at {shape[1]}/"
              f"{shape[1] // 2}/{shape[1] // 4} px), e.g. {cands[0].arch.label()}")
        table = open_table(store, s, "float32")
        measure = Measurer(s, device)
        print("step 2: latency predicted from the lookup table, calibrated")
        S.ensure_calibration(table, measure, cfg, shape, print)
        S.predict_all(cands, table, shape)
        print(f"  ({len(table.entries)} table entries, {table.measured} measured now)")
        for c in sorted(cands, key=lambda c: c.predicted_ms):
            mark = "<= budget" if c.predicted_ms <= cfg.latency_budget_ms else ""
            print(f"  {c.arch.label():<40} {c.flops / 1e6:7.3f} MFLOPs  predicted {c.predicted_ms:8.4f} ms {mark}")
        short = S.shortlist(cands, cfg.latency_budget_ms, cfg.shortlist)
        fits = sum(c.predicted_ms <= cfg.latency_budget_ms for c in cands)
        print(f"step 3: {fits} predicted under budget; shortlist = the {len(short)} with most FLOPs")
        print("step 4: shortlist profiled end to end (float equivalent, batch 1)")
        for c in short:
            net, x = plain_model(c.arch), torch.rand(1, *shape)
            stats, _ = measure(torch_call(*table.on_target(net, x)))
            c.measured_ms = stats.median
            print(f"  {c.arch.label():<40} predicted {c.predicted_ms:8.4f} ms  measured {stats.median:8.4f} ms "
                  f"(IQR/median {stats.rel_iqr * 100:.0f}%, error {(c.predicted_ms / stats.median - 1) * 100:+.0f}%)")
        win = S.best(short, cfg.latency_budget_ms)
        print(f"step 5: best = {win.arch.label()} ({win.flops / 1e6:.3f} MFLOPs, {win.measured_ms:.4f} ms); "
              f"training with RandBET")
        result = S.train_and_store(win, cfg, data, store, Path(args.out), print)
        print(f"step 6: profiling the trained model; run {result['run_id']} stored in {store.path}")
        prof = profile_model(result["model"], shape, s, "genet", result["run_id"])
        store.insert("latency", prof.rows, on_conflict="replace")
    print(f"\nnext: berth select --latency-budget {cfg.latency_budget_ms:g} --p {cfg.p:g}"
          + (f" --device {device}" if device.type == "cuda" else "") + (f" --store {args.store}" if args.store else ""))
    return 0
