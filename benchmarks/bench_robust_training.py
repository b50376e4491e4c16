"""Robust training and adversarial bit errors on digits: what clipping, RandBET and AdvBET buy.

Trains an 8-bit CNN (by default the SimpleNet-style CNN with group norm, RQuant) on
scikit-learn's digits four ways — plain QAT, QAT with weight clipping (w_max = 0.1), RandBET
(p = 1%, w_max = 0.1) and AdvBET (ε = 16, w_max = 0.1) — for each seed, then measures on the
test split:

* clean error and RErr (mean over ``--chips`` random chips) at p = 0.1%, 1% and 5%;
* the error under the gradient attack with ε = 16 flipped bits (3 restarts, 20 iterations, on the
  test examples themselves; counted like RErr: wrong if the clean or the attacked model is wrong);
* the error after 16 uniformly random bit flips (mean over 5 draws);
* the Progressive Bit Search: flips needed to bring accuracy to chance (≤ 11%), 100 at most.

Prints one row per method (means over seeds) and, with ``--json``, saves every figure.
Run: ``python benchmarks/bench_robust_training.py`` (10-20 minutes on 2 shared cores).
``--model lenet`` runs the same on the LeNet-style CNN, which has no normalization layer: clipping
to w_max = 0.1 then limits what it can learn (Stutz et al. pair clipping with normalization).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from berth.data.datasets import load_digits
from berth.core.files import atomic_write_json
from berth.models import create_model
from berth.quant.attack import bit_flip_attack, progressive_bit_search, random_flips
from berth.quant.faults import RandomBitErrors
from berth.quant.evaluate import predict, robust_error
from berth.quant.inject import use_codes
from berth.train.loop import TrainConfig, train

METHODS = {
    "QAT": dict(w_max=None, method="qat"),
    "QAT + clipping": dict(w_max=0.1, method="qat"),
    "RandBET p=1%": dict(w_max=0.1, method="randbet", bet_p=0.01),
    "AdvBET eps=16": dict(w_max=0.1, method="advbet", bet_epsilon=16),
}
ARCHS = {"simplenet": dict(widths=(8, 16, 32), groups=4), "lenet": dict(channels=(16, 32), hidden=128)}


def rerr_under(model, codes, x, y) -> float:
    """Error counted like RErr: an example is wrong if the clean or the perturbed model gets it wrong."""
    labels = y.numpy()
    clean_ok = predict(model, x) == labels
    with use_codes(model, codes):
        ok = predict(model, x) == labels
    return 1.0 - float((ok & clean_ok).mean())


def measure(model, data, chips: int, seed: int) -> dict[str, float]:
    """All figures of one trained model."""
    x, y = data.x_test, data.y_test
    row = {}
    for p in (0.001, 0.01, 0.05):
        res = robust_error(model, x, y, [RandomBitErrors(p, chip=10_000 + k) for k in range(chips)])
        row["clean_error"] = res.clean_error
        row[f"rerr_{p}"] = res.mean
    attack = bit_flip_attack(model, x, y, 16, iterations=20, restarts=3, seed=seed)
    assert attack.flips <= 16
    row["adv_error_16"] = rerr_under(model, attack.codes, x, y)
    row["adv_flips"] = attack.flips
    row["random_error_16"] = float(np.mean([rerr_under(model, random_flips(model, x, y, [16], seed=s).codes, x, y)
                                            for s in range(5)]))
    pbs = progressive_bit_search(model, x, y, max_iterations=100)
    row["pbs_flips"] = pbs.flips
    row["pbs_reached"] = pbs.reached
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (default 3)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--chips", type=int, default=25)
    parser.add_argument("--model", choices=sorted(ARCHS), default="simplenet")
    parser.add_argument("--json", help="also save all figures to this file")
    args = parser.parse_args(argv)
    data = load_digits()
    rows: dict[str, list[dict]] = {name: [] for name in METHODS}
    for seed in range(args.seeds):
        for name, settings in METHODS.items():
            settings = dict(settings)
            w_max = settings.pop("w_max")
            model = create_model(args.model, scheme="rquant", bits=8, w_max=w_max, seed=seed, **ARCHS[args.model])
            began = time.perf_counter()
            train(model, data, TrainConfig(epochs=args.epochs, seed=seed, **settings), progress=False)
            row = {"seed": seed, "train_s": time.perf_counter() - began, **measure(model, data, args.chips, seed)}
            rows[name].append(row)
            print(f"seed {seed} {name}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                       for k, v in row.items()), file=sys.stderr, flush=True)
    print_table(rows, args)
    if args.json:
        atomic_write_json(args.json, {"args": vars(args), "arch": ARCHS[args.model], "rows": rows})
    return 0


def print_table(rows: dict[str, list[dict]], args: argparse.Namespace) -> None:
    """Means over seeds, errors in percent."""
    print(f"\n{args.model} {ARCHS[args.model]}, RQuant 8-bit, digits test split (450), {args.epochs} epochs, "
          f"mean over {args.seeds} seed(s), RErr over {args.chips} chips")
    head = (f"{'method':<16} {'Err %':>6} {'RErr 0.1%':>9} {'RErr 1%':>8} {'RErr 5%':>8} {'adv ε=16':>9} {'rand 16':>8} "
            f"{'PBS flips':>9} {'PBS ok':>6}")
    print(head)
    for name, rs in rows.items():
        mean = {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k != "pbs_reached"}
        reached = sum(r["pbs_reached"] for r in rs)
        print(f"{name:<16} {100 * mean['clean_error']:>6.2f} {100 * mean['rerr_0.001']:>9.2f} "
              f"{100 * mean['rerr_0.01']:>8.2f} {100 * mean['rerr_0.05']:>8.2f} {100 * mean['adv_error_16']:>9.2f} {100 * mean['random_error_16']:>8.2f} "
              f"{mean['pbs_flips']:>9.1f} {reached:>4}/{len(rs)}")


if __name__ == "__main__":
    sys.exit(main())
