"""``berth train``: train one quantized model (QAT, RandBET or AdvBET) into a run directory.

The run directory holds ``config.json`` (the resolved settings), ``checkpoint.pt`` (after every
epoch: model, scheme, optimizer, schedule, RNG states), ``metrics.jsonl`` (one line per epoch)
and, at the end, ``results.json`` (clean error, RErr over chips, provenance).
``berth train --resume DIR`` continues a killed run and reaches the same weights as an
uninterrupted one.

Settings (TOML keys, or --set KEY=VALUE): model, arch (model options), scheme, bits, w_max
(clipping; unset for none), dataset (digits | mnist | cifar10), data_dir (where the MNIST/CIFAR-10
files are), p and chips (the robustness check at the end), out; training settings live in the
[train] table: epochs, batch_size, lr, momentum, weight_decay, label_smoothing, seed, method
(qat | randbet | advbet), bet_p, bet_epsilon, bet_grad_clip, bet_curriculum, adv_iterations,
adv_per_layer, adv_one_per_word.

Examples:
  berth train --set train.method=randbet --set train.bet_p=0.01
  berth train --set train.method=advbet --set train.bet_epsilon=16
  berth train --set dataset=mnist --set data_dir=~/data/mnist --set model=lenet --set arch={}
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from berth.commands.common import add_config_args, run_dir
from berth.core.config import from_dict, load_config, to_dict
from berth.core.errors import BerthError, check_range
from berth.train.config import TrainConfig


@dataclass(frozen=True)
class TrainCommandConfig:
    """Settings of ``berth train``: model, data, training and the robustness check at the end."""

    model: str = "simplenet"
    arch: dict[str, list[int] | int | str] = field(default_factory=lambda: {"widths": [8, 16, 32], "groups": 4})
    scheme: str = "rquant"
    bits: int = 8
    w_max: float | None = 0.1
    dataset: str = "digits"
    data_dir: str | None = None
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30))
    p: list[float] = field(default_factory=lambda: [0.001, 0.01])
    chips: int = 25
    out: str = "runs"

    def __post_init__(self) -> None:
        for value in self.p:
            check_range("bit error rate p", value, 0.0, 1.0)
        if isinstance(self.chips, bool) or self.chips < 0:
            raise BerthError(f"chips = {self.chips!r} must be >= 0")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train a quantized model (qat, randbet, advbet) with checkpoints",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR with its saved settings")
    parser.set_defaults(handler=run)


def resolve(args: argparse.Namespace) -> tuple[TrainCommandConfig, Path]:
    """The settings and run directory: fresh ones, or a run's saved settings with --resume."""
    if not args.resume:
        cfg = load_config(TrainCommandConfig, args.config, args.overrides)
        return cfg, run_dir(cfg.out, "train")
    import json

    if args.config or args.overrides:
        raise BerthError("--resume takes the run's saved settings; drop --config/--set")
    path = Path(args.resume) / "config.json"
    if not path.is_file():
        raise BerthError(f"cannot resume {args.resume!r}: no config.json there (not a berth train run directory)")
    return from_dict(TrainCommandConfig, json.loads(path.read_text()), str(path)), Path(args.resume)


def run(args: argparse.Namespace) -> int:
    from berth.data.datasets import load_dataset
    from berth.core.files import atomic_write_json
    from berth.core.provenance import provenance
    from berth.models import model_for_data
    from berth.train.loop import train

    cfg, out = resolve(args)
    data = load_dataset(cfg.dataset, seed=cfg.train.seed, data_dir=cfg.data_dir)
    model = model_for_data(cfg.model, data, scheme=cfg.scheme, bits=cfg.bits, w_max=cfg.w_max, seed=cfg.train.seed,
                           **cfg.arch)
    if not args.resume:
        out.mkdir(parents=True, exist_ok=False)
        atomic_write_json(out / "config.json", to_dict(cfg))
    print(f"training {cfg.model} ({cfg.scheme}, {cfg.bits}-bit, w_max={cfg.w_max}) with {cfg.train.method} "
          f"on {cfg.dataset} for {cfg.train.epochs} epochs into {out}")
    history = train(model, data, cfg.train, run_dir=out, resume=bool(args.resume))
    rows = robustness(model, data, cfg)
    record = {"config": to_dict(cfg), "history": history, "robustness": rows,
              "provenance": provenance({"seed": cfg.train.seed, "chips": cfg.chips})}
    atomic_write_json(out / "results.json", record)
    print(f"results: {out / 'results.json'}")
    return 0


def robustness(model, data, cfg: TrainCommandConfig) -> list[dict]:
    """Clean error and RErr over ``cfg.chips`` chips at each p, printed as a table."""
    from berth.quant.faults import RandomBitErrors
    from berth.quant.evaluate import robust_error

    rows = []
    for p in cfg.p if cfg.chips else []:
        res = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(p, chip=k) for k in range(cfg.chips)])
        rows.append({"p": p, "clean_error": res.clean_error, "rerr_mean": res.mean, "rerr_std": res.std,
                     "rerr_worst": res.worst})
        print(f"p = {p * 100:.2f}%: clean error {res.clean_error * 100:.2f}%, RErr {res.mean * 100:.2f} "
              f"± {res.std * 100:.2f}% (worst {res.worst * 100:.2f}%) over {cfg.chips} chips")
    return rows
