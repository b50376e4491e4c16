"""Helpers shared by the sweep, store and Ray tests: a tiny sweep file and table snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

TINY = """
name = "tiny"
models = ["mlp"]
model_options = {{ hidden = [16] }}
bits = [8, 4]
seeds = [0]
p = [0.01, 0.05, 0.1]
chips = 5
train = {{ epochs = 1 }}
out = "{out}"

[[variants]]
name = "normal"
scheme = "normal"

[[variants]]
name = "clipping"
scheme = "rquant"
w_max = 0.1
"""


def write_tiny(directory: Path, out: Path) -> Path:
    """A sweep of 4 tiny runs x 15 (p, chip) points, results under ``out``."""
    path = directory / "tiny.toml"
    path.write_text(TINY.format(out=out))
    return path


def snapshot(store_path: Path) -> list[tuple]:
    """Every robustness row, with the run's label, bits and seed, in a fixed order."""
    with sqlite3.connect(store_path) as db:
        return db.execute("SELECT r.label, r.bits, r.seed, b.errors, b.p, b.chip, b.rerr FROM robustness b "
                          "JOIN runs r USING (run_id) ORDER BY 1, 2, 3, 4, 5, 6").fetchall()


def reference(tmp: Path) -> list[tuple]:
    """The table of an uninterrupted tiny sweep run in this process."""
    from berth.flows.driver import Driver
    from berth.flows.executors import SerialExecutor
    from berth.core.store import Store
    from berth.flows.sweep import load_sweep

    sweep, _ = load_sweep(write_tiny(tmp, tmp / "out"))
    with Store(tmp / "ref.sqlite") as store:
        Driver(sweep, store, SerialExecutor(), progress=False).run()
    return snapshot(tmp / "ref.sqlite")
