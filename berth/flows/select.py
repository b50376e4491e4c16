"""Choosing a model from the results store: one record per trained model (robustness, energy,
latency, FPGA cost), Pareto fronts with their table and plot, and the choice under a budget.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from berth.core.errors import BerthError
from berth.hardware.latency.records import LatencyQuery, Record


def load_records(store_path: str | Path | None, query: LatencyQuery,
                 errors: str = "random") -> tuple[list[Record], Path]:
    """The records of every trained model in the store (default: the default sweep's)."""
    from berth.hardware.latency.records import model_records
    from berth.core.store import workspace_store
    from berth.hardware.latency.tables import open_store

    path = workspace_store(store_path)
    if not path.is_file():
        raise BerthError(f"results store {str(path)!r} does not exist; run `berth sweep` (or pass --store)")
    with open_store(path, read_only=True) as store:
        records = model_records(store, query, errors)
    if not records:
        raise BerthError(f"results store {str(path)!r} holds no trained model; run `berth sweep` first")
    return records, path


def pareto(records: list[Record], p: float, out: Path, query: LatencyQuery) -> tuple[Path, Path, int]:
    """Write ``records.csv`` and ``pareto.png`` (fronts at the stored rate nearest ``p``) to ``out``;
    returns both paths and how many records had a latency to plot."""
    from berth.core.files import atomic_write_text
    from berth.hardware.latency.pareto import nearest_p, plot

    rows = [r.flat() for r in records]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    writer.writeheader()
    writer.writerows(rows)
    table = atomic_write_text(out / "records.csv", buf.getvalue())
    plotted = plot(records, nearest_p(records, p), out / "pareto.png", query.describe())
    return table, out / "pareto.png", plotted
