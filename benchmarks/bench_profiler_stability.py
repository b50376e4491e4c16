"""Stability of the CPU profiler: IQR/median within a profile and spread of medians across profiles.

Profiles the float-equivalent and simulation variants of LeNet (digits input) and ResNet-20
(CIFAR-size input) ``--profiles`` times each at batch 1 and 64, and prints, per (model, variant,
batch): IQR/median of every profile (acceptance: <= 5% on a quiet machine) and the spread of the
medians across profiles (max/min - 1). The load average is printed before and after — on a
shared machine the figures measure the machine as much as the model.

Run: python benchmarks/bench_profiler_stability.py [--profiles 3] [--threads 1] [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

from berth.hardware.latency.profiler import ProfileSettings, profile_model
from berth.models import create_model

MODELS = {"lenet": dict(name="lenet"), "resnet20": dict(name="resnet20", in_channels=3, input_size=32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", default="wall", choices=("wall", "thread"),
                    help="wall = elapsed time (default); thread = the thread's CPU time (excludes time descheduled)")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = ap.parse_args()
    s = ProfileSettings(batches=(1, 64), variants=("float", "simulation"), repeats=args.repeats, threads=args.threads,
                              clock=args.clock)
    load0 = os.getloadavg()
    print(f"CPU, {args.threads} thread(s), {args.clock} clock, {args.repeats} samples of >= {s.block_s * 1e3:g} ms per profile; "
          f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} cores")
    for name in args.models:
        kw = MODELS[name]
        model = create_model(**kw).eval()
        shape = (kw.get("in_channels", 1), kw.get("input_size", 8), kw.get("input_size", 8))
        runs: dict[tuple, list[dict]] = defaultdict(list)
        for _ in range(args.profiles):
            for row in profile_model(model, shape, s, name, progress=lambda _: None).rows:
                runs[(row["variant"], row["batch"])].append(row)
        for (variant, batch), rows in runs.items():
            medians = [r["ms_median"] for r in rows]
            rel = ", ".join(f"{r['rel_iqr'] * 100:.1f}%" for r in rows)
            ok = "ok" if max(r["rel_iqr"] for r in rows) <= 0.05 else "above 5%"
            print(f"{name:<9} {variant:<10} batch {batch:>2}: median {min(medians):8.4f}..{max(medians):8.4f} ms "
                  f"(spread {(max(medians) / min(medians) - 1) * 100:4.1f}%), IQR/median per profile: {rel} [{ok}]")
    load1 = os.getloadavg()
    print(f"load average after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
