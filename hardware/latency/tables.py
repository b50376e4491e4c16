"""The results store where latency figures go (tables ``latency``, ``layer_latency``,
``latency_layers``, ``latency_calibration``, ``block_study``, declared in ``berth.core.schemas``).

The default store is the workspace's (``berth.core.store.workspace_store``), so that ``berth
sweep``, ``berth profile --runs``, ``berth pareto`` and ``berth select`` meet in one file.
"""

from __future__ import annotations

from pathlib import Path


def open_store(path: str | Path | None = None, read_only: bool = False):
    """The results store at ``path`` (default: the workspace store)."""
    from berth.core.store import Store, workspace_store

    return Store(workspace_store(path), read_only=read_only)
