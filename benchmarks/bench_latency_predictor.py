"""Accuracy of the per-layer latency predictor (nn-Meter's metric): share of models within ±10%.

Generates ``--models`` (>= 30) random GENet-style float networks (block type, width and depth per
stage) for ``--input-size`` inputs, predicts each one's latency as the sum of its layers' entries
in the lookup table (entries measured in isolation on first use and stored), measures each model
end to end with the same CPU timer, and prints per-model predicted vs measured latency and the
share within ±10% (nn-Meter reports 99% within ±10% on mobile CPUs/GPUs). Timing depends on the
machine's load: the load average is printed before and after.

Run: python benchmarks/bench_latency_predictor.py [--models 30] [--threads 1] [--store FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from hardware.latency.genet import flops, plain_model, random_arch
from hardware.latency.layers import predict_model
from hardware.latency.profiler import Measurer, ProfileSettings, torch_call
from hardware.latency.report import open_table
from hardware.latency.tables import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=30)
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", default="wall", choices=("wall", "thread"),
                    help="wall = elapsed time (default); thread = the thread's CPU time (excludes time descheduled)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=None, help="store holding the table (default: a fresh temporary one)")
    ap.add_argument("--statistic", default="median", choices=("median", "min"),
                    help="compare medians (default) or minima (the quiet-machine estimate under load)")
    args = ap.parse_args()

    shape = (args.in_channels, args.input_size, args.input_size)
    settings = ProfileSettings(batches=(args.batch,), repeats=args.repeats, threads=args.threads,
                              clock=args.clock)
    measure = Measurer(settings, torch.device("cpu"))
    rng = random.Random(args.seed)
    archs = [random_arch(rng, input_size=args.input_size, in_channels=args.in_channels,
                         widths=(16, 24, 32, 48, 64)) for _ in range(args.models)]
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, open_store(args.store or Path(tmp) / "t.sqlite") as store:
        table = open_table(store, settings, "float32", args.statistic)
        print(f"{args.models} GENet-style models, input {'x'.join(map(str, shape))}, batch {args.batch}, "
              f"float32, CPU {args.threads} thread(s), {args.clock} clock, {args.statistic} of samples; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
        print(f"{'model':<40} {'MFLOPs':>8} {'predicted ms':>13} {'measured ms':>12} {'IQR/med':>8} {'error':>7}")
        errors = []
        for arch in archs:
            net, x = plain_model(arch, seed=args.seed), torch.rand(args.batch, *shape)
            predicted = predict_model(net, x, table)
            stats, _ = measure(torch_call(net, x))
            measured = stats.median if args.statistic == "median" else stats.minimum
            err = predicted / measured - 1
            errors.append(err)
            print(f"{arch.label():<40} {flops(net, shape) / 1e6:8.2f} {predicted:13.4f} {measured:12.4f} "
                  f"{stats.rel_iqr * 100:7.1f}% {err * 100:+6.1f}%")
        n_entries = len(table.entries)
    errors = np.array(errors)
    within = float(np.mean(np.abs(errors) <= 0.10))
    load1 = os.getloadavg()
    print(f"\ntable: {n_entries} layer entries; median |error| {np.median(np.abs(errors)) * 100:.1f}%, "
          f"mean error {errors.mean() * 100:+.1f}%")
    print(f"predictor accuracy: {within * 100:.0f}% of {len(errors)} models within ±10% of measured latency "
          f"(nn-Meter: 99%); load average after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
