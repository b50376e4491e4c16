"""``berth report``: write the Markdown report (tables and PNG plots) of a sweep from its store.

``berth sweep`` writes the report when it finishes; run this to rebuild it (e.g. after adding
results from another machine to the store, or for a sweep that is still running).
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_sweep_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write a sweep's Markdown report with plots",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_args(parser)
    parser.add_argument("--store", default=None, help="results store (default: <out>/<name>/results.sqlite)")
    parser.add_argument("--out", default=None, help="report directory (default: <out>/<name>/report)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.core.errors import BerthError
    from berth.flows.report import write_report
    from berth.core.store import Store
    from berth.flows.sweep import load_sweep, sweep_dir

    sweep, _ = load_sweep(args.sweep_file, args.overrides)
    store_path = Path(args.store) if args.store else sweep_dir(sweep) / "results.sqlite"
    if not store_path.exists():
        raise BerthError(f"results store {str(store_path)!r} does not exist; run berth sweep first or pass --store")
    order = [c for pair in sweep.compare for c in (pair.b, pair.a)]
    pairs = [(c.a, c.b) for c in sweep.compare]
    with Store(store_path) as store:
        path = write_report(store, sweep.name, Path(args.out) if args.out else sweep_dir(sweep) / "report",
                            order, pairs, args.seed)
    print(f"report: {path}")
    return 0
