"""Rows of a model trained outside a sweep (``berth eval``, ``berth train``, ``berth search``) in
the workspace store, beside the sweeps': its ``runs`` row and its RErr under random chips.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Iterable

from berth.core.provenance import machine_info, package_versions


def run_id_of(command: str, config: Any) -> str:
    """A stable id for a run: the producing command and everything that decided its weights."""
    blob = json.dumps({"command": command, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def record_run(store, run: dict[str, Any], rerr: Iterable[tuple[float, int, float]], n_test: int) -> str:
    """Store ``run`` (a ``runs`` row: run_id, command, label, model, scheme, bits, method, ...) and
    its (p, chip, rerr) rows under random chips; returns the run id."""
    rows = [(float(p), int(c), float(r)) for p, c, r in rerr]
    with store.transaction():
        store.add_run({"versions": package_versions(), "machine": machine_info(), "finished": time.time(),
                       "sweep": run["command"], **run})
        if rows:
            store.add_evaluation({"run_id": run["run_id"], "errors": "random",
                                  "spec": {"kind": "random", "label": "random"}, "clean_error": run["clean_error"],
                                  "n_test": n_test, "chips": len({c for _, c, _ in rows}), "eval_s": 0.0,
                                  "machine": machine_info(), "finished": time.time()}, rows)
    return run["run_id"]
