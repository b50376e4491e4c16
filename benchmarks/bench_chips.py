"""Cost of evaluating one model over many chips, as a ratio against clean evaluations.

The sweep's evaluation task (``berth.flows.tasks.rerr_over_chips``): the clean integer codes are
computed once, each chip perturbs them, and only the examples the clean model gets right are run
again. Baseline, measured in the same run: ``chips`` clean evaluations of the same test set.
Target: 50 chips at one p cost <= 1.2x fifty clean evaluations. Models are trained
briefly first (an untrained model gets most examples wrong, which the task skips). A second
figure: the sweep's four rates on the same chips, per (p, chip) point. Everything runs on one
thread (torch and the numba bit sampler alike), so the ratio is not a thread count.

Run: python benchmarks/bench_chips.py [--chips 50] [--p 0.01] [--repeats 3] [--epochs 3]
"""

from __future__ import annotations

import argparse

import numba
import torch

from berth.data.datasets import load_dataset
from berth.flows.tasks import rerr_over_chips
from berth.models import create_model
from berth.quant.evaluate import predict
from berth.train.loop import TrainConfig, train
from timing import median_time

MODELS = {"lenet": {}, "simplenet": {}, "mlp": {"hidden": (256, 256)}}
SWEEP_P = (0.001, 0.005, 0.01, 0.025)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, default=50)
    parser.add_argument("--p", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    data = load_dataset("digits", seed=0)
    x, y = data.x_test, data.y_test.numpy()
    spec = {"kind": "random"}
    points = [(args.p, k) for k in range(args.chips)]
    print(f"digits test set ({len(y)} examples), {args.chips} chips at p = {args.p}, 1 thread")
    sweep_points = [(p, k) for k in range(args.chips) for p in SWEEP_P]
    print(f"{'model':<10} {'scheme':<7} {'weights':>8} {'Err %':>6} {'clean x N (s)':>14} {'N chips (s)':>12} "
          f"{'ratio':>6} {'4 rates: ratio per point':>25}")
    for name, kw in MODELS.items():
        for scheme in ("normal", "rquant"):
            model = create_model(name, scheme=scheme, bits=8, **kw)
            train(model, data, TrainConfig(epochs=args.epochs), progress=False)
            n = sum(p.numel() for n_, p in model.named_parameters() if n_.endswith("weight"))
            clean = median_time(lambda: [predict(model, x) for _ in range(args.chips)], args.repeats)
            err, _ = rerr_over_chips(model, x, y, spec, points[:1])
            chips = median_time(lambda: rerr_over_chips(model, x, y, spec, points), args.repeats)
            multi = median_time(lambda: rerr_over_chips(model, x, y, spec, sweep_points), args.repeats)
            print(f"{name:<10} {scheme:<7} {n:>8} {err * 100:>6.2f} {clean:>14.3f} {chips:>12.3f} "
                  f"{chips / clean:>6.2f} {multi / len(SWEEP_P) / clean:>25.2f}")


if __name__ == "__main__":
    main()
