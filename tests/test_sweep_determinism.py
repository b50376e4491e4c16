"""Same seeds, same table: a sweep's stored results do not depend on how many workers ran it."""

import sqlite3
from pathlib import Path

from berth.core.store import Store
from berth.flows.driver import Driver
from berth.flows.executors import LocalExecutor
from berth.flows.sweep import load_sweep
from sweep_helpers import write_tiny


def stored_rows(store_path: Path) -> tuple[list[tuple], list[tuple]]:
    """Every run (its id, recipe, scheme definition and clean error) and every robustness row."""
    with sqlite3.connect(store_path) as db:
        runs = db.execute("SELECT run_id, label, scheme, bits, seed, clean_error, json_extract(config, "
                          "'$.scheme_definition') FROM runs ORDER BY run_id").fetchall()
        rows = db.execute("SELECT run_id, errors, p, chip, rerr FROM robustness ORDER BY 1, 2, 3, 4").fetchall()
    return runs, rows


def run_tiny(tmp: Path, workers: int) -> tuple[list[tuple], list[tuple]]:
    tmp.mkdir()
    sweep, _ = load_sweep(write_tiny(tmp, tmp / "out"))
    with Store(tmp / "results.sqlite") as store:
        Driver(sweep, store, LocalExecutor(workers), progress=False).run()
    return stored_rows(tmp / "results.sqlite")


def test_one_and_two_workers_store_identical_rows(tmp_path):
    one = run_tiny(tmp_path / "one", 1)
    two = run_tiny(tmp_path / "two", 2)
    runs, rows = one
    assert len(runs) == 4 and len(rows) == 4 * 15
    assert all(definition for *_, definition in runs), "runs record their scheme definition"
    assert one == two
