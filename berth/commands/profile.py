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

``--layers`` adds the per-layer table (lookup-table entries and in-situ hook times) of the float
model; ``--runs`` profiles every trained model in the store; ``--blocks`` runs GENet's block study
(XX / BL / DW blocks per stage: FLOPs, latency, FLOPs per ms; table and PNG).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="measure latency (simulation / float / integer), per-layer tables, block study",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="zoo model name or checkpoint file")
    p.add_argument("--runs", action="store_true", help="profile every trained model (checkpoint) in the store")
    p.add_argument("--blocks", action="store_true", help="GENet block study (XX/BL/DW per stage)")
    p.add_argument("--layers", action="store_true", help="per-layer table of the float model (lookup table + hooks)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 64], help="batch sizes (default: 1 64)")
    p.add_argument("--dtype", nargs="+", default=["float32"], help="float32/fp32, float16/fp16, bfloat16/bf16")
    p.add_argument("--variant", nargs="+", default=None, help="simulation, float, integer-ort (default: all)")
    p.add_argument("--repeats", type=int, default=50, help="timed samples per measurement (default 50)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds (default: 0.2 CPU, 1.0 CUDA)")
    p.add_argument("--block-ms", type=float, default=10.0, help="CPU: length of one sample in ms (default 10)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1; recorded with every row)")
    p.add_argument("--clock", default="wall", choices=("wall", "thread"),
                   help="CPU: wall = elapsed time (default); thread = the thread's CPU time (needs --threads 1; "
                        "excludes time descheduled on a busy machine)")
    p.add_argument("--l2-flush", action="store_true", help="CUDA: flush L2 before each iteration")
    p.add_argument("--cuda-graph", action="store_true", help="CUDA: replay a captured CUDA graph")
    p.add_argument("--scheme", default="rquant", help="quantization scheme of a zoo model (default rquant)")
    p.add_argument("--bits", type=int, default=8, help="weight bits of a zoo model (default 8)")
    p.add_argument("--act-bits", type=int, default=None, help="activation bits (needed for an integer path)")
    p.add_argument("--hw", action="store_true", help="build the zoo model for fixed-point hardware (needs --act-bits)")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--input-size", type=int, default=8)
    p.add_argument("--width-mult", type=float, default=0.25, help="block study: GENet-normal widths x this")
    p.add_argument("--out", default="runs/latency", help="where the block study writes its table and PNG")
    p.add_argument("--store", default=None, help="results store (default: runs/sweeps/default/results.sqlite)")
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


def load_model(args: argparse.Namespace):
    """(model, name, input shape) for MODEL: a checkpoint file or a zoo model name."""
    from pathlib import Path

    from berth.core.errors import BerthError
    from berth.models import create_model

    if args.model is None:
        raise BerthError("berth profile needs MODEL (a zoo model name or checkpoint), --runs or --blocks")
    if Path(args.model).is_file():
        from berth.models.files import load_model as load_model_file
        from berth.models.registry import input_shape

        model = load_model_file(args.model)
        return model, model.berth_config["name"], input_shape(model.berth_config)
    model = create_model(args.model, scheme=args.scheme, bits=args.bits, act_bits=args.act_bits, hw=args.hw,
                         in_channels=args.in_channels, input_size=args.input_size)
    return model.eval(), args.model, (args.in_channels, args.input_size, args.input_size)


def run(args: argparse.Namespace) -> int:
    from berth.hardware.latency.tables import open_store

    s = settings_from(args)
    if args.blocks:
        return run_blocks(args, s)
    targets = run_targets(args) if args.runs else [(*load_model(args), "")]
    with open_store(args.store) as store:
        print(f"results store: {store.path}")
        print(header(s))
        for model, name, shape, run_id in targets:
            profile_one(store, model, name, shape, run_id, s, args.layers)
    return 0


def header(s) -> str:
    """What is measured and under what conditions (device, threads, load)."""
    import os

    where = s.device if s.device != "cpu" else (f"cpu, {s.thread_count} thread(s), {s.clock} clock, "
                                                f"load average {os.getloadavg()[0]:.2f}")
    return (f"profiling on {where}; {s.repeats} samples after {s.warmup_s:g} s warm-up; "
            "'simulation' = Brevitas fake-quant (NOT deployable latency)")


def run_targets(args: argparse.Namespace) -> list:
    """(model, name, shape, run_id) of every run in the store whose checkpoint rebuilds."""
    from berth.core.errors import BerthError
    from berth.hardware.latency.tables import open_store
    from berth.models.files import load_model as load_model_file
    from berth.models.registry import input_shape

    out = []
    with open_store(args.store) as store:
        runs = store.query("runs", order_by="sweep,label,bits,run_id")
    for run in runs:
        try:
            model = load_model_file(run["checkpoint"])
        except BerthError as exc:
            print(f"skipping run {run['run_id']} ({run['label']}): {exc}")
            continue
        cfg = model.berth_config
        out.append((model, f"{cfg['name']}[{run['label']}, {run['bits']}b]", input_shape(cfg), run["run_id"]))
    if not out:
        raise BerthError("no run in the store has a checkpoint berth can rebuild; train with `berth sweep` first")
    return out


def profile_one(store, model, name: str, shape: tuple, run_id: str, s, layers: bool) -> None:
    """Profile one model, store its rows, print notes (and the per-layer table with ``layers``)."""
    from berth.hardware.latency.profiler import profile_model

    print(f"\n{name} (input {'x'.join(map(str, shape))}){' run ' + run_id if run_id else ''}")
    prof = profile_model(model, shape, s, name.split("[")[0], run_id)
    store.insert("latency", prof.rows, on_conflict="replace")
    for note in prof.notes:
        print(f"  note: {note}")
    if layers:
        from berth.hardware.latency.report import layer_report

        layer_report(store, model, shape, s, prof)


def run_blocks(args: argparse.Namespace, s) -> int:
    """GENet block study: measure, store, write table (Markdown) and PNG."""
    from pathlib import Path

    from berth.core.files import atomic_write_text
    from berth.hardware.latency import blocks
    from berth.hardware.latency.profiler import DTYPES, Measurer
    from berth.hardware.latency.tables import open_store

    import torch

    dtype, batch = s.dtypes[0], s.batches[0]
    stages = blocks.stage_table(args.width_mult)
    measure = Measurer(s, torch.device(s.device))
    print(header(s))
    print(f"GENet block study: stride-1 blocks at GENet-normal stages x{args.width_mult:g} width, batch {batch}, {dtype}")
    results = blocks.run_study(measure, batch, stages, DTYPES[dtype], torch.device(s.device))
    threads = s.thread_count if s.device == "cpu" else 0
    with open_store(args.store) as store:
        store.insert("block_study", blocks.rows(results, batch, dtype, s.device, threads), on_conflict="replace")
    verdict = blocks.verdict(results)
    where = s.device if s.device != "cpu" else f"CPU ({threads} threads)"
    out = Path(args.out)
    title = f"GENet block study on {where}, batch {batch}, {dtype}: {verdict}"
    table = blocks.markdown(results)
    atomic_write_text(out / "blocks.md", f"# {title}\n\n{table}\n")
    blocks.plot(results, out / "blocks.png", title)
    print(f"\n{table}\n\nGENet's observation on this machine: {verdict}")
    print(f"table: {out / 'blocks.md'}\nplot: {out / 'blocks.png'}")
    return 0
