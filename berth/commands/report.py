"""``berth report``: write the Markdown report (tables and PNG plots) of a sweep from its store.

``berth sweep`` writes the report when it finishes; run this to rebuild it (e.g. after adding
results from another machine to the store, or for a sweep that is still running).
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_store_arg, add_sweep_args, printed_config, sweep_of


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write a sweep's Markdown report with plots",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_args(parser)
    add_store_arg(parser, "runs/berth.sqlite, or $BERTH_STORE")
    parser.add_argument("--out", default=None, help="report directory (default: <out>/<name>/report)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.flows.robustness import report_sweep, store_path_of

    sweep, _ = sweep_of(args)
    if printed_config(args, sweep):
        return 0
    path = report_sweep(sweep, store_path_of(sweep, args.store), Path(args.out) if args.out else None, args.seed)
    print(f"report: {path}")
    return 0
