"""Offset-coded weights on a power-of-two step vs the float-step RQuant and the fixed-point scheme.

Trains the same hardware build (``hw = true``, 8-bit activations) three ways per method — weights
stored as ``rquant`` (the paper's unsigned offset codes, float step: not exact in hls4ml),
``offset`` (the same storage on a power-of-two step: exact in hls4ml) and ``fixed`` (two's
complement, symmetric, power-of-two step: exact in hls4ml) — by plain QAT (each scheme's own
range: clipped to 1 for rquant and offset, unclipped for fixed), with weight clipping (QAT,
``--w-max``) and with RandBET (``--w-max``, p = 1%), for each seed; then measures on the test split
the clean error and RErr (the paper's robust error: an example is wrong if the clean or the
perturbed model gets it wrong) at p = 0.1, 0.5, 1 and 2.5%, mean over ``--chips`` random chips.
Chip k is ``RandomBitErrors(p, chip=k)`` over the layer weights: the same bit cells of the same
layers for every scheme and method (nested in p).

Prints a Markdown table (mean over seeds, min–max over seeds in brackets); ``--json`` saves every
figure. Digits (bundled, default) or real MNIST (``--dataset mnist --data-dir DIR`` with the four
IDX files; ``--train-subset`` keeps it light on a shared CPU):

    python benchmarks/bench_offset_robustness.py --seeds 3 --epochs 15 --chips 25
    python benchmarks/bench_offset_robustness.py --dataset mnist --data-dir DIR --model mlp --hidden 64 \\
        --seeds 2 --epochs 2 --train-subset 20000 --chips 10
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from berth.core.files import atomic_write_json
from berth.data.datasets import Dataset, load_dataset
from berth.models import create_model
from berth.quant.evaluate import robust_error
from berth.quant.faults import RandomBitErrors
from berth.train.loop import TrainConfig, train

SCHEMES = ("rquant", "offset", "fixed")
METHODS = {"qat": dict(method="qat"), "clipping": dict(method="qat"), "randbet": dict(method="randbet", bet_p=0.01)}
RATES = (0.001, 0.005, 0.01, 0.025)


def one_run(data: Dataset, args: argparse.Namespace, scheme: str, method: str, seed: int) -> dict[str, float]:
    """Clean error and mean RErr per rate of one trained model."""
    shape = dict(in_channels=int(data.x_train.shape[1]), input_size=int(data.x_train.shape[2]))
    arch = dict(hidden=[args.hidden]) if args.model == "mlp" else dict(channels=(8, 16), hidden=args.hidden)
    w_max = None if method == "qat" else args.w_max
    model = create_model(args.model, scheme=scheme, bits=args.bits, w_max=w_max, act_bits=8, hw=True, seed=seed,
                         **shape, **arch)
    train(model, data, TrainConfig(epochs=args.epochs, seed=seed, **METHODS[method]), progress=False)
    row = {}
    for p in RATES:
        res = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(p, chip=k) for k in range(args.chips)])
        row["err"] = res.clean_error
        row[f"rerr_{p}"] = res.mean
    return row


def table(rows: list[dict], methods: list[str]) -> str:
    """Markdown: one line per (method, scheme), figures in %, mean (min–max) over seeds."""
    keys = ["err"] + [f"rerr_{p}" for p in RATES]
    lines = ["| method | scheme | Err | " + " | ".join(f"RErr p={100 * p:g}%" for p in RATES) + " |",
             "|---" * (2 + len(keys)) + "|"]
    for method in methods:
        for scheme in SCHEMES:
            runs = [r for r in rows if r["method"] == method and r["scheme"] == scheme]
            cells = []
            for k in keys:
                v = 100 * np.array([r[k] for r in runs])
                cells.append(f"{v.mean():.2f} ({v.min():.2f}–{v.max():.2f})" if len(v) > 1 else f"{v.mean():.2f}")
            lines.append(f"| {method} | {scheme} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--data-dir", default=None, help="folder of the four MNIST IDX files (mnist)")
    parser.add_argument("--model", choices=("mlp", "lenet"), default="mlp")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (mlp: its one layer; lenet: fc1)")
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=list(METHODS))
    parser.add_argument("--w-max", type=float, default=0.1, help="clipping of clipping and randbet (default 0.1)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--chips", type=int, default=25)
    parser.add_argument("--train-subset", type=int, default=0, help="first N training examples (0: all)")
    parser.add_argument("--json", default=None, help="save every figure here")
    args = parser.parse_args(argv)

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    if args.train_subset:
        data = Dataset(data.name, data.x_train[:args.train_subset], data.y_train[:args.train_subset],
                       data.x_test, data.y_test)
    rows, start = [], time.perf_counter()
    for method in args.methods:
        for scheme in SCHEMES:
            for seed in range(args.seeds):
                row = {"method": method, "scheme": scheme, "seed": seed, **one_run(data, args, scheme, method, seed)}
                rows.append(row)
                print(f"  {method} {scheme} seed {seed}: err {100 * row['err']:.2f}%, "
                      f"RErr p=1% {100 * row['rerr_0.01']:.2f}% ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    print(f"{args.dataset}, {args.model}, {args.bits}-bit weights, hw build (8-bit activations), "
          f"clipping w_max = {args.w_max}, "
          f"{len(data.x_train)} training / {len(data.x_test)} test examples, {args.epochs} epochs, "
          f"{args.seeds} seeds, {args.chips} chips per rate")
    print(table(rows, args.methods))
    if args.json:
        atomic_write_json(args.json, {"args": vars(args), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
