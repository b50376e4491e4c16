"""Accuracy of the per-layer latency predictor (nn-Meter's metric): share of models within ±10%.

First calibrates the predictor on ``--calibration-models`` random GENet-style backbones (their own
random stream), then generates ``--models`` (>= 30) other random GENet-style float networks (block
type, width and depth per stage) for ``--input-size`` inputs, predicts each one's latency as the
sum of its layers' entries in the lookup table (entries measured in isolation on first use and
stored), raw and calibrated, measures each model end to end with the same timer (CPU, or CUDA
events with ``--device cuda``), and prints
per-model predicted vs measured latency and the share within ±10% (nn-Meter reports 99% within
±10% on mobile CPUs/GPUs). Timing depends on the machine's load: the load average is printed
before and after.

Run: python benchmarks/bench_latency_predictor.py [--models 30] [--calibration-models 20] [--threads 1] [--store FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from berth.core.errors import BerthError
from berth.models.genet import flops, plain_model, random_arch
from berth.hardware.latency.calibration import calibrate, calibration_archs
from berth.hardware.latency.cuda import check_device
from berth.hardware.latency.layers import predict_model_raw
from berth.hardware.latency.profiler import Measurer, ProfileSettings, torch_call
from berth.hardware.latency.report import open_table
from berth.hardware.latency.tables import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=30)
    ap.add_argument("--calibration-models", type=int, default=20)
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N (CUDA events time every call)")
    ap.add_argument("--clock", default="wall", choices=("wall", "thread"),
                    help="wall = elapsed time (default); thread = the thread's CPU time (excludes time descheduled)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=None, help="store holding the table (default: a fresh temporary one)")
    ap.add_argument("--statistic", default="median", choices=("median", "min"),
                    help="compare medians (default) or minima (the quiet-machine estimate under load)")
    args = ap.parse_args()

    shape = (args.in_channels, args.input_size, args.input_size)
    device = check_device(args.device)
    settings = ProfileSettings(device=str(device), batches=(args.batch,), repeats=args.repeats, threads=args.threads,
                               clock=args.clock)
    measure = Measurer(settings, device)
    rng, widths = random.Random(args.seed), (16, 24, 32, 48, 64)
    archs = [random_arch(rng, input_size=args.input_size, in_channels=args.in_channels, widths=widths)
             for _ in range(args.models)]
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, open_store(args.store or Path(tmp) / "t.sqlite") as store:
        table = open_table(store, settings, "float32", args.statistic)
        print(f"{args.models} GENet-style models, input {'x'.join(map(str, shape))}, batch {args.batch}, "
              f"float32, {settings.where()}, {args.statistic} of samples; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
        cal = calibrate(table, measure, calibration_archs(args.calibration_models, args.seed, shape, widths=widths),
                        shape, args.batch)
        print(f"calibration on {cal.models} other backbones: scale {cal.scale:.3f} (IQR of measured / sum "
              f"{cal.ratio_q1:.3f}-{cal.ratio_q3:.3f})")
        print(f"{'model':<40} {'MFLOPs':>8} {'sum ms':>9} {'calibrated':>11} {'measured ms':>12} {'IQR/med':>8} "
              f"{'raw err':>8} {'cal. err':>9}")
        raw_errors, errors = [], []
        for arch in archs:
            net, x = plain_model(arch, seed=args.seed), torch.rand(args.batch, *shape)
            raw = predict_model_raw(net, x, table)
            stats, _ = measure(torch_call(*table.on_target(net, x)))
            measured = stats.median if args.statistic == "median" else stats.minimum
            raw_errors.append(raw / measured - 1)
            errors.append(cal.apply(raw) / measured - 1)
            print(f"{arch.label():<40} {flops(net, shape) / 1e6:8.2f} {raw:9.4f} {cal.apply(raw):11.4f} {measured:12.4f} "
                  f"{stats.rel_iqr * 100:7.1f}% {raw_errors[-1] * 100:+7.1f}% {errors[-1] * 100:+8.1f}%")
        n_entries = len(table.entries)
    load1 = os.getloadavg()
    print(f"\ntable: {n_entries} layer entries; load average after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for label, errs in (("raw sum of entries", np.array(raw_errors)), ("calibrated", np.array(errors))):
        within = float(np.mean(np.abs(errs) <= 0.10))
        print(f"{label:<19}: {within * 100:3.0f}% of {len(errs)} models within ±10% of measured latency "
              f"(nn-Meter: 99%); median |error| {np.median(np.abs(errs)) * 100:.1f}%, mean error {errs.mean() * 100:+.1f}%")


if __name__ == "__main__":
    try:
        main()
    except BerthError as err:  # a bad device or option: one line, not a traceback
        sys.exit(f"error: {err}")
