"""``berth pareto``: one record per trained model, and RErr vs latency / energy saving with Pareto fronts.

Joins, per trained model in the results store: clean error, mean RErr over chips at each p,
SRAM energy saving at p (``berth.hardware.energy``), the model's stored weight bits (from its model
file), latency for one (device, batch, dtype, variant) from ``berth profile``, and the FPGA cost
estimate of ``berth hls`` where one is stored. Writes ``records.csv`` and ``pareto.png`` (RErr vs
latency at --p; RErr vs SRAM energy saving and RErr vs weight-memory energy over all p; fronts
marked) and prints the records.
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_store_arg


def add_latency_args(p: argparse.ArgumentParser) -> None:
    """Which stored latency the records carry, and where the store is."""
    p.add_argument("--device", default="cpu", help="device of the latency (default cpu)")
    p.add_argument("--batch", type=int, default=1, help="batch size of the latency (default 1)")
    p.add_argument("--dtype", default="float32", help="dtype of the latency (default float32)")
    p.add_argument("--variant", default="float", help="float (default), integer-ort or simulation")
    p.add_argument("--clock", default="wall", choices=("wall", "thread"), help="clock of the latency (default wall)")
    p.add_argument("--errors", default="random", help="error model of the robustness rows (default random)")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pareto", help="records joining robustness, energy, latency and FPGA cost; Pareto plots",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--p", type=float, default=0.01, help="bit error rate of the RErr-vs-latency panel (default 0.01)")
    p.add_argument("--out", default=None, help="output directory (default: beside the store, pareto/)")
    add_latency_args(p)
    p.set_defaults(handler=run)


def load_records(args: argparse.Namespace):
    """(records, latency query, store path) for the latency flags of ``args``."""
    from berth.flows.select import load_records as load
    from berth.hardware.latency.records import LatencyQuery

    query = LatencyQuery(args.device, args.batch, args.dtype, args.variant, args.clock)
    records, path = load(args.store, query, args.errors)
    return records, query, path


def print_records(records, ps: list[float]) -> None:
    """One line per record: Err, RErr at each p, latency, weight kbit, FPGA MACs, what is missing."""
    name_w = max([28, *(len(r.name()) for r in records)])  # columns as wide as their longest entry
    scheme_w = max([7, *(len(r.scheme) for r in records)])
    rerr = " ".join(f"{'RErr@' + format(p * 100, 'g') + '%':>10}" for p in ps)
    print(f"{'model':<{name_w}} {'scheme':<{scheme_w}} {'method':<8} {'Err %':>6} {rerr} {'ms':>9} {'w kbit':>8} "
          f"{'MACs':>9}  missing")
    for r in records:
        cells = " ".join(f"{r.rerr[p] * 100:10.2f}" if p in r.rerr else f"{'–':>10}" for p in ps)
        ms = f"{r.latency_ms:9.4f}" if r.latency_ms is not None else f"{'–':>9}"
        kbit = f"{r.weight_bits / 1e3:8.1f}" if r.weight_bits is not None else f"{'–':>8}"
        macs = f"{r.fpga['macs']:9d}" if r.fpga.get("macs") is not None else f"{'–':>9}"
        print(f"{r.name():<{name_w}} {r.scheme:<{scheme_w}} {r.method:<8} {r.clean_error * 100:6.2f} {cells} {ms} "
              f"{kbit} {macs}  "
              f"{', '.join(r.missing) or '-'}")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.flows.select import pareto

    records, query, path = load_records(args)
    ps = sorted({q for r in records for q in r.rerr})
    table, png, plotted = pareto(records, args.p, Path(args.out) if args.out else path.parent / "pareto", query)
    print_records(records, ps)
    print(f"\n{len(records)} records ({plotted} with a latency for {query.describe()})")
    print(f"records: {table}\nplot: {png}")
    print(f"next: berth select --latency-budget MS --p {args.p:g}" + (f" --store {args.store}" if args.store else ""))
    return 0
