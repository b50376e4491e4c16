"""``berth sweep [SWEEP.toml]``: train and evaluate a robustness sweep, then write its report.

With no file, runs the default sweep embedded in berth (digits: normal vs rquant vs clipping vs
RandBET, 8 and 4 bit, 50 chips per bit error rate). The whole file is validated before any work
starts. Results go to ``<out>/<name>/results.sqlite``; a sweep that was killed picks up where it
stopped when started again. ``--executor ray --address HOST:PORT`` runs the tasks on a Ray
cluster (the driver alone writes the store).
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_sweep_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sweep", help="train and evaluate a robustness sweep (default: the embedded one)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_args(parser)
    parser.add_argument("--executor", default="local", choices=("local", "serial", "ray"),
                        help="local process pool (default), serial (this process) or ray")
    parser.add_argument("--workers", type=int, default=None, help="processes (local) or CPUs of a local Ray instance")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    parser.add_argument("--store", default=None, help="results store (default: <out>/<name>/results.sqlite)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.flows.driver import Driver
    from berth.flows.executors import make_executor
    from berth.flows.report import write_report
    from berth.core.store import Store
    from berth.flows.sweep import load_sweep, sweep_dir

    sweep, path = load_sweep(args.sweep_file, args.overrides)
    store_path = Path(args.store) if args.store else sweep_dir(sweep) / "results.sqlite"
    print(f"sweep {sweep.name!r} from {path}: results in {store_path}")
    with Store(store_path) as store:
        executor = make_executor(args.executor, args.workers, args.address)
        counts = Driver(sweep, store, executor, progress=not args.no_progress).run()
        print(f"done: {counts['trained']} trained, {counts['evaluated']} evaluated, {counts['skipped']} already stored")
        order = [c for pair in sweep.compare for c in (pair.b, pair.a)]
        pairs = [(c.a, c.b) for c in sweep.compare]
        report = write_report(store, sweep.name, sweep_dir(sweep) / "report", order, pairs)
        print_summary(store, sweep.name, order)
    print(f"report: {report}")
    return 0


def print_summary(store, sweep: str, order: list[str]) -> None:
    """The paper's table (Err, RErr with 95% intervals) on the terminal."""
    from berth.flows.report import load_rows, ordered_labels, paper_table

    rows = load_rows(store, sweep)
    if rows:
        print("\n" + paper_table(rows, ordered_labels(rows, order)) + "\n")
