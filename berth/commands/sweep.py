"""``berth sweep [SWEEP.toml]``: train and evaluate a robustness sweep, then write its report.

With no file, runs the default sweep embedded in berth (digits: normal vs rquant vs clipping vs
RandBET, 8 and 4 bit, 50 chips per bit error rate). The whole file is validated before any work
starts. Results go to the workspace store (``runs/berth.sqlite`` or ``$BERTH_STORE``), checkpoints
and the report to ``<out>/<name>/``; a sweep that was killed picks up where it
stopped when started again. ``--executor ray --address HOST:PORT`` runs the tasks on a Ray
cluster (the driver alone writes the store).
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_store_arg, add_sweep_args, at_least, printed_config, sweep_of


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sweep", help="train and evaluate a robustness sweep (default: the embedded one)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_args(parser)
    parser.add_argument("--executor", default="local", choices=("local", "serial", "ray"),
                        help="local process pool (default), serial (this process) or ray")
    parser.add_argument("--workers", type=at_least(1), default=None, help="processes (local) or CPUs of a local Ray instance")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    add_store_arg(parser, "runs/berth.sqlite, or $BERTH_STORE")
    parser.add_argument("-q", "--quiet", "--no-progress", action="store_true", dest="quiet", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from berth.flows.robustness import run_sweep, store_path_of

    sweep, path = sweep_of(args)
    if printed_config(args, sweep):
        return 0
    store_path = store_path_of(sweep, args.store)
    print(f"sweep {sweep.name!r} from {path}: results in {store_path}")
    outcome = run_sweep(sweep, store_path, args.executor, args.workers, args.address, not args.quiet, print)
    if outcome.table:
        print("\n" + outcome.table + "\n")
    print(f"report: {outcome.report}")
    print(f"next: berth results {store_path}   (or: berth pareto --store {store_path})")
    return 0
