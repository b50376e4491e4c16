"""``berth train``: train one quantized model (QAT, RandBET or AdvBET) into a run directory.

The run directory holds ``config.json`` (the resolved settings), ``checkpoint.pt`` (after every
epoch: model, scheme, optimizer, schedule, RNG states), ``metrics.jsonl`` (one line per epoch)
and, at the end, ``results.json`` (clean error, RErr over chips, provenance).
``berth train --resume DIR`` continues a killed run and reaches the same weights as an
uninterrupted one.

Settings (TOML keys, or --set KEY=VALUE): model (a registered name, or your own model by import
path: pkg.module:factory or path/to/file.py:Name), modules (modules to import that register models
with @berth.models.register_model), arch (model options), scheme, bits, w_max (clipping; unset for
none), hw and act_bits (a hardware build that berth hls export takes: hw = true, scheme "fixed",
act_bits = 8), dataset (digits | mnist | cifar10 | npz | images), data_dir (where its files are: the
MNIST/CIFAR-10 folder, your .npz file or your train/<class>/ and test/<class>/ image folders),
p and chips (the robustness check at the end), out; training settings live in the
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
from pathlib import Path

from berth.commands.common import add_config_args, add_store_arg, data_flags, printed_config, run_dir
from berth.core.errors import BerthError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train a quantized model (qat, randbet, advbet) with checkpoints",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser, example="train.epochs=3")
    add_store_arg(parser, "runs/berth.sqlite, or $BERTH_STORE")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR with its saved settings")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from berth.core.config import load_config
    from berth.flows.train import TrainCommandConfig, resumed_config, train_run

    if args.resume:
        if args.config or args.overrides:
            raise BerthError("--resume takes the run's saved settings; drop --config/--set")
        cfg, out = resumed_config(Path(args.resume)), Path(args.resume)
    else:
        cfg = load_config(TrainCommandConfig, args.config, args.overrides)
        if printed_config(args, cfg):
            return 0
        out = run_dir(cfg.out, "train")
    results = train_run(cfg, out, bool(args.resume), print, args.store)
    print(f"results: {results}")
    ckpt = out / "checkpoint.pt"
    print(f"next: berth hls export {ckpt} --out runs/hls/{out.name}{data_flags(cfg.dataset, cfg.data_dir)}" if cfg.hw else
          f"next: berth profile {ckpt}   (a hardware build, hw = true, goes on to berth hls export)")
    return 0
