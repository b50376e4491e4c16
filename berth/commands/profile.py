"""``berth profile MODEL``: latency measured honestly, per variant, batch size and dtype.

MODEL is a zoo model name (built with --scheme/--bits/--act-bits/--hw for the digits' 1x8x8
input unless --input-size/--in-channels say otherwise) or a berth checkpoint file. Three
variants are measured and labelled: ``simulation`` (the Brevitas fake-quant model — NOT
deployable latency), ``float`` (the float-equivalent model: quantizers removed, dequantized
weights) and ``integer-ort`` (ONNX Runtime on the QCDQ export, only where it really runs integer
kernels). On the CPU (default) ``torch.utils.benchmark`` times the calls at a recorded thread
count; with ``--device cuda`` CUDA events bracket each iteration after a timed warm-up
(optionally flushing L2 or replaying a CUDA graph) and the GPU's clocks and throttle state are
read and stored. Results go to the results store (default: the default sweep's).

MODEL may also be a QONNX file (``*.onnx``), measured on the CPU: ``simulation`` is qonnx's
execution of the graph, ``float`` its float equivalent in ONNX Runtime (weights dequantized, Quant
nodes removed), ``integer-ort`` qonnx's QCDQ conversion in ONNX Runtime; ``--runs`` measures the
QONNX files of ``berth eval`` and ``berth sweep`` runs too, so ``berth select`` can choose them.

``--layers`` adds the per-layer table (lookup-table entries and in-situ hook times) of the float
model; ``--runs`` profiles every trained model in the store; ``--blocks`` runs GENet's block study
(XX / BL / DW blocks per stage: FLOPs, latency, FLOPs per ms; table and PNG).
"""

from __future__ import annotations

import argparse

from berth.core.errors import BerthError

from berth.commands.common import add_store_arg, at_least


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="measure latency (simulation / float / integer), per-layer tables, block study",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="zoo model name, checkpoint file or QONNX file")
    p.add_argument("--runs", action="store_true", help="profile every trained model (checkpoint) in the store")
    p.add_argument("--blocks", action="store_true", help="GENet block study (XX/BL/DW per stage)")
    p.add_argument("--layers", action="store_true", help="per-layer table of the float model (lookup table + hooks)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--batch", type=at_least(1), nargs="+", default=[1, 64], help="batch sizes (default: 1 64)")
    p.add_argument("--dtype", nargs="+", default=["float32"], help="float32/fp32, float16/fp16, bfloat16/bf16")
    p.add_argument("--variant", nargs="+", default=None, help="simulation, float, integer-ort (default: all)")
    p.add_argument("--repeats", type=at_least(1), default=50, help="timed samples per measurement (default 50)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds (default: 0.2 CPU, 1.0 CUDA)")
    p.add_argument("--block-ms", type=float, default=10.0, help="CPU: length of one sample in ms (default 10)")
    p.add_argument("--threads", type=at_least(1), default=1, help="CPU threads (default 1; recorded with every row)")
    p.add_argument("--clock", default="wall", choices=("wall", "thread"),
                   help="CPU: wall = elapsed time (default); thread = the thread's CPU time (needs --threads 1; "
                        "excludes time descheduled on a busy machine)")
    p.add_argument("--l2-flush", action="store_true", help="CUDA: flush L2 before each iteration")
    p.add_argument("--cuda-graph", action="store_true", help="CUDA: replay a captured CUDA graph")
    p.add_argument("--scheme", default=None, help="quantization scheme of a zoo model (default rquant)")
    p.add_argument("--bits", type=int, default=None, help="weight bits of a zoo model (default 8)")
    p.add_argument("--act-bits", type=int, default=None, help="activation bits of a zoo model (needed for an integer "
                   "path)")
    p.add_argument("--hw", action="store_true", help="build the zoo model for fixed-point hardware (needs --act-bits)")
    p.add_argument("--in-channels", type=at_least(1), default=None, help="input channels of a zoo model (default 1)")
    p.add_argument("--input-size", type=at_least(1), default=None, help="input height = width of a zoo model "
                   "(default 8)")
    p.add_argument("--width-mult", type=float, default=0.25, help="block study: GENet-normal widths x this")
    p.add_argument("--out", default="runs/latency", help="where the block study writes its table and PNG")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")
    p.set_defaults(handler=run)


def settings_from(args: argparse.Namespace):
    """ProfileSettings from the command line (validates dtype, variants, batches, device)."""
    from berth.hardware.latency.cuda import check_device
    from berth.hardware.latency.profiler import ProfileSettings
    from berth.hardware.latency.variants import VARIANTS

    dev = check_device(args.device)
    warmup = args.warmup if args.warmup is not None else (1.0 if dev.type == "cuda" else 0.2)
    return ProfileSettings(device=str(dev), batches=tuple(args.batch), dtypes=tuple(args.dtype),
                           variants=tuple(args.variant or VARIANTS), repeats=args.repeats, warmup_s=warmup,
                           block_s=args.block_ms / 1000.0, threads=args.threads, l2_flush=args.l2_flush,
                           cuda_graph=args.cuda_graph, clock=args.clock)


ZOO_FLAGS = ("scheme", "bits", "act_bits", "hw", "in_channels", "input_size")


def check_zoo_flags(args: argparse.Namespace) -> None:
    """The flags that build a zoo model apply to nothing else: a model file or QONNX file holds
    its own, and ``--runs`` takes each run's."""
    from pathlib import Path

    given = [name for name in ZOO_FLAGS if getattr(args, name) not in (None, False)]
    if not given:
        return
    flag = "--" + given[0].replace("_", "-")
    if args.runs or args.blocks:
        raise BerthError(f"{flag} is not allowed with {'--runs' if args.runs else '--blocks'}; it builds a zoo model "
                         "named as MODEL")
    if args.model and Path(args.model).is_file():
        raise BerthError(f"{flag} is not allowed with the model file {args.model!r}, which holds its own; allowed: "
                         "with a zoo model name as MODEL")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.flows import profile as flow

    check_zoo_flags(args)
    s = settings_from(args)
    if args.blocks:
        table, verdict = flow.block_study(s, args.width_mult, args.store, Path(args.out), print)
        print(f"\n{table}\n\nGENet's observation on this machine: {verdict}")
        print(f"table: {Path(args.out) / 'blocks.md'}\nplot: {Path(args.out) / 'blocks.png'}")
        return 0
    if args.runs:
        targets = flow.run_targets(args.store, print)
    else:
        targets = [flow.model_target(args.model, args.scheme or "rquant", args.bits or 8, args.act_bits, args.hw,
                                     args.in_channels or 1, args.input_size or 8)]
    flow.profile_all(targets, s, args.store, args.layers, print)
    print("next: berth pareto" + (f" --store {args.store}" if args.store else "")
          + "   (robustness, energy and latency of every stored model)")
    return 0
