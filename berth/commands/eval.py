"""``berth eval``: train a small model per scheme, then measure clean and robust error over chips.

The main job on the embedded default data (scikit-learn's digits, no download). Results are
printed as a table and saved as JSON (with the resolved config, seeds, versions and machine).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from berth.commands.common import add_config_args, run_dir
from berth.core.config import load_config, to_dict
from berth.core.errors import BerthError, check_range


@dataclass(frozen=True)
class EvalConfig:
    """Settings of ``berth eval``."""

    model: str = "lenet"
    schemes: list[str] = field(default_factory=lambda: ["normal", "rquant"])
    bits: int = 8
    w_max: float | None = None
    dataset: str = "digits"
    epochs: int = 15
    p: list[float] = field(default_factory=lambda: [0.001, 0.005, 0.01])
    chips: int = 25
    seed: int = 0
    out: str = "runs"

    def __post_init__(self) -> None:
        for value in self.p:
            check_range("bit error rate p", value, 0.0, 1.0)
        if self.chips < 1:
            raise BerthError(f"chips = {self.chips} must be >= 1")
        if self.epochs < 0:
            raise BerthError(f"epochs = {self.epochs} must be >= 0")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="train per scheme, report clean and robust error over chips",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from berth.data.datasets import load_dataset
    from berth.core.files import atomic_write_json
    from berth.core.provenance import provenance
    from berth.models import model_for_data
    from berth.quant.faults import RandomBitErrors
    from berth.quant.evaluate import robust_error
    from berth.quant.scheme import get_scheme
    from berth.train.loop import TrainConfig, train

    cfg = load_config(EvalConfig, args.config, args.overrides)
    for name in cfg.schemes:
        get_scheme(name, bits=cfg.bits, w_max=cfg.w_max)
    data = load_dataset(cfg.dataset, seed=cfg.seed)
    rows = []
    for scheme in cfg.schemes:
        model = model_for_data(cfg.model, data, scheme=scheme, bits=cfg.bits, w_max=cfg.w_max, seed=cfg.seed)
        print(f"training {cfg.model} with {scheme} {cfg.bits}-bit weights ({cfg.epochs} epochs)")
        train(model, data, TrainConfig(epochs=cfg.epochs, seed=cfg.seed))
        for p in cfg.p:
            chips = [RandomBitErrors(p, chip=k) for k in range(cfg.chips)]
            res = robust_error(model, data.x_test, data.y_test, chips)
            rows.append({"scheme": scheme, "p": p, "clean_error": res.clean_error, "rerr_mean": res.mean,
                         "rerr_std": res.std, "rerr_worst": res.worst, "rerr": res.rerr.tolist()})
    print_table(cfg, rows)
    out = run_dir(cfg.out, "eval") / "results.json"
    record = {"config": to_dict(cfg), "provenance": provenance({"seed": cfg.seed, "chips": cfg.chips}),
              "results": rows}
    atomic_write_json(out, record)
    print(f"results: {out}")
    return 0


def print_table(cfg: EvalConfig, rows: list[dict]) -> None:
    """Clean error and RErr (mean ± std, worst) in percent, one line per (scheme, p)."""
    print(f"\n{cfg.model}, {cfg.bits}-bit weights, {cfg.chips} chips per p, {cfg.dataset} test set")
    print(f"{'scheme':<10} {'p':>8} {'Err %':>7} {'RErr % mean ± std':>20} {'worst %':>8}")
    for r in rows:
        print(f"{r['scheme']:<10} {r['p'] * 100:>7.2f}% {r['clean_error'] * 100:>7.2f} "
              f"{r['rerr_mean'] * 100:>12.2f} ± {r['rerr_std'] * 100:<5.2f} {r['rerr_worst'] * 100:>8.2f}")
