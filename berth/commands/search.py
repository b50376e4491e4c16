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

from berth.commands.common import add_config_args, add_store_arg, at_least, printed_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="GENet-style candidates under a latency budget, best trained with RandBET",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p)
    p.add_argument("--latency-budget", type=float, dest="latency_budget_ms", metavar="MS",
                   help="budget in ms (default 1.0; short for --set latency_budget_ms=MS)")
    p.add_argument("--p", type=float, help="bit error rate for RandBET and evaluation (default 0.01)")
    p.add_argument("--candidates", type=int, help="random candidates (default 40)")
    p.add_argument("--shortlist", type=int, help="candidates profiled end to end (default 3)")
    p.add_argument("--epochs", type=int, help="RandBET epochs (default 4)")
    p.add_argument("--chips", type=int, help="chips for RErr (default 10)")
    p.add_argument("--seed", type=at_least(0), help="seed of the candidates, training and chips (default 0)")
    p.add_argument("--device", default="cpu", help="where latency is measured: cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=at_least(1), default=1, help="CPU threads for all timing (default 1)")
    p.add_argument("--clock", default="wall", choices=("wall", "thread"),
                   help="wall = elapsed time (default); thread = CPU time of the thread (busy machines)")
    p.add_argument("--repeats", type=at_least(1), default=30, help="samples per end-to-end measurement (default 30)")
    p.add_argument("--calibration-models", type=int,
                   help="backbones measured to calibrate the predictor when the store has no calibration (default 8)")
    p.add_argument("--hw", action="store_const", const=True,
                   help="hardware build: block types hls4ml converts exactly, fixed-point weights, 8-bit "
                   "activations, so 'berth hls export' takes the winner as it is")
    p.add_argument("--out", default="runs/search", help="where the winner's checkpoint goes")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")
    p.set_defaults(handler=run)


SHORTHANDS = ("latency_budget_ms", "p", "candidates", "shortlist", "epochs", "chips", "seed", "calibration_models", "hw")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from berth.core.config import load_config
    from berth.flows.search import SearchConfig, search
    from berth.hardware.latency.profiler import ProfileSettings

    cfg = load_config(SearchConfig, args.config, args.overrides)
    flags = {k: getattr(args, k) for k in SHORTHANDS if getattr(args, k) is not None}
    cfg = dataclasses.replace(cfg, **flags)  # flags beat the file and --set; validated again
    if printed_config(args, cfg):
        return 0
    s = ProfileSettings(device=args.device, batches=(1,), variants=("simulation", "float"), repeats=args.repeats,
                        threads=args.threads, clock=args.clock)
    result = search(cfg, s, args.store, Path(args.out), print)
    print(f"\nwinner: {result['checkpoint']}")
    print(f"next: berth select --latency-budget {cfg.latency_budget_ms:g} --p {cfg.p:g}"
          + (f" --device {result['device']}" if result["device"].type == "cuda" else "")
          + (f" --store {args.store}" if args.store else ""))
    if cfg.hw:
        print(f"      berth hls export {result['checkpoint']} --out runs/hls/search-winner")
    return 0
