"""The results store where latency figures go (tables ``latency``, ``layer_latency``,
``latency_layers``, ``latency_calibration``, ``block_study``, declared in ``berth.core.schemas``).

The default store is the default sweep's (``runs/sweeps/default/results.sqlite``), so that
``berth sweep``, ``berth profile --runs``, ``berth pareto`` and ``berth select`` meet in one file.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_STORE = Path("runs/sweeps/default/results.sqlite")

def open_store(path: str | Path | None = None, read_only: bool = False):
    """The results store at ``path`` (default: the default sweep's)."""
    from berth.core.store import Store

    return Store(Path(path) if path else DEFAULT_STORE, read_only=read_only)
