"""``berth select --latency-budget MS --p P``: the stored configuration with the lowest RErr under a budget.

Among the trained models in the results store that have a latency for (device, batch, dtype,
variant) — default: the float model, batch 1, float32, CPU — and RErr at P, returns the one
with the lowest mean RErr at P whose median latency is at most MS. A budget no configuration
meets is a one-line error naming the budget and the fastest configuration available.
"""

from __future__ import annotations

import argparse
import shlex

from berth.commands.common import data_flags


def register(sub: argparse._SubParsersAction) -> None:
    from berth.commands.pareto import add_latency_args

    p = sub.add_parser("select", help="lowest-RErr stored configuration under a latency budget",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--latency-budget", type=float, required=True, metavar="MS", help="latency budget in ms")
    p.add_argument("--p", type=float, required=True, metavar="P", help="bit error rate at which RErr is compared")
    add_latency_args(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from berth.commands.pareto import load_records
    from berth.hardware.latency.pareto import nearest_p, select

    records, query, _ = load_records(args)
    best = select(records, args.latency_budget, args.p, query.describe())
    p = nearest_p(records, args.p)
    arch = ", ".join(f"{k}={v}" for k, v in sorted(best.arch.items())) or "default"
    print(f"selected under {args.latency_budget:g} ms ({query.describe()}) at p = {p:g}:")
    print(f"  model {best.model} ({arch}), {best.bits}-bit {best.scheme}, method {best.method}, "
          f"w_max {best.w_max:g}, label {best.label}, run {best.run_id}")
    print(f"  latency {best.latency_ms:.4g} ms, clean error {best.clean_error * 100:.2f}%, "
          f"RErr {best.rerr[p] * 100:.2f}%" + (f", energy saving {best.energy_saving[p] * 100:.1f}%" if p in best.energy_saving else ""))
    if best.checkpoint:
        print(f"  model file: {best.checkpoint}")
        if hardware_ready(best):
            print(f"next: berth hls export {shlex.quote(best.checkpoint)} --out runs/hls/{best.run_id}"
                  f"{data_flags(best.dataset, best.data_dir)}")
        else:
            print(f"next: train it as a hardware build for berth hls export (berth train --set model={best.model} "
                  f"--set scheme=fixed --set bits={best.bits} --set hw=true --set act_bits=8 ...; berth search --hw)")
    return 0


def hardware_ready(record) -> bool:
    """Whether ``berth hls export`` can take the record's model file as it is: a QONNX file, a
    model with its own Brevitas quantizers (checked when exported), or a berth hardware build."""
    from berth.models.files import model_config

    if record.scheme in ("qonnx", "brevitas"):
        return True
    return bool((model_config(record.checkpoint) or {}).get("hw"))
