"""A robustness sweep end to end: train and evaluate through the driver, then the report; and the
report alone of a stored sweep. The store is the workspace's (``berth.core.store.workspace_store``);
checkpoints, ``sweep.json`` and the report stay in ``<out>/<name>/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from berth.core.errors import BerthError
from berth.flows.sweep import Sweep, sweep_dir


def _comparisons(sweep: Sweep) -> tuple[list[str], list[tuple[str, str]]]:
    """The report's variant order and its paired comparisons."""
    order = [c for pair in sweep.compare for c in (pair.b, pair.a)]
    return order, [(c.a, c.b) for c in sweep.compare]


def store_path_of(sweep: Sweep, store: str | Path | None) -> Path:
    """Where the sweep's results go: ``store``, else the workspace store."""
    from berth.core.store import workspace_store

    return workspace_store(store)


@dataclass
class SweepOutcome:
    """What a sweep run did and where its report and table are."""

    counts: dict[str, int]
    report: Path
    table: str


def run_sweep(sweep: Sweep, store_path: Path, executor: str, workers: int | None, address: str | None,
              progress: bool, say: Callable[[str], None]) -> SweepOutcome:
    """Train and evaluate what the store lacks, then write the report; the paper's table as text."""
    from berth.core.progress import shown
    from berth.core.store import Store
    from berth.flows.driver import Driver
    from berth.flows.executors import make_executor
    from berth.flows.report import load_rows, ordered_labels, paper_table, write_report

    order, pairs = _comparisons(sweep)
    with Store(store_path) as store:
        show = progress and shown()
        counts = Driver(sweep, store, make_executor(executor, workers, address, progress=show), progress=show).run()
        elsewhere = f", {counts['elsewhere']} by another berth process" if counts["elsewhere"] else ""
        read = f", {counts['read']} QONNX read as it is" if counts["read"] else ""
        say(f"done: {counts['trained']} trained{read}, {counts['evaluated']} evaluated{elsewhere}, "
            f"{counts['skipped']} already stored")
        report = write_report(store, sweep.name, sweep_dir(sweep) / "report", order, pairs)
        rows = load_rows(store, sweep.name)
        table = paper_table(rows, ordered_labels(rows, order)) if rows else ""
    return SweepOutcome(counts, report, table)


def report_sweep(sweep: Sweep, store_path: Path, out: Path | None, seed: int) -> Path:
    """The report of a stored sweep (default folder ``<out>/<name>/report``)."""
    from berth.core.store import Store
    from berth.flows.report import write_report

    if not store_path.exists():
        raise BerthError(f"results store {str(store_path)!r} does not exist; run berth sweep first or pass --store")
    order, pairs = _comparisons(sweep)
    with Store(store_path, read_only=True) as store:
        return write_report(store, sweep.name, out or sweep_dir(sweep) / "report", order, pairs, seed)
