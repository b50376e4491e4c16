"""The latency tables of the results store (created through ``berth.core.store``'s table API).

``latency``         one profile: (model_key, run_id, variant, device, dtype, batch, threads, clock
                    (wall = elapsed time, CUDA events on a GPU; thread = the thread's CPU time),
                    l2_flush, cuda_graph) key; model name and config, whether the variant is
                    deployable, the timer, ms per batch (median, q1, q3, IQR, p90, mean) and per
                    image, samples and calls per sample, warm-up, environment JSON (CPU or GPU
                    state, torch/CUDA versions, load average), measured (UTC).
``layer_latency``   the lookup table: one entry per layer configuration (op, cin, cout, kernel,
                    stride, groups, h, w, batch, dtype, device, threads) with its median, IQR and minimum ms.
``latency_layers``  per-layer times of one profiled model: (model_key, device, dtype, batch,
                    threads, idx) key; layer name, op, the lookup-table ms and the in-situ (hook) ms.
``latency_calibration``  the predictor's calibration per (device, dtype, threads, statistic, batch):
                    scale = median of measured / sum of entries over calibration models, its IQR.
``block_study``     GENet block study: (block, stage, h, width, batch, dtype, device, threads) key;
                    FLOPs, median ms, IQR, FLOPs per ms.

The default store is the default sweep's (``runs/sweeps/default/results.sqlite``), so that
``berth sweep``, ``berth profile --runs``, ``berth pareto`` and ``berth select`` meet in one file.
"""

from __future__ import annotations

from pathlib import Path

from berth.hardware.latency.calibration import COLUMNS as CALIBRATION_COLUMNS, KEY as CALIBRATION_KEY

DEFAULT_STORE = Path("runs/sweeps/default/results.sqlite")

TABLES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "latency": ({"model_key": "TEXT", "run_id": "TEXT", "model": "TEXT", "model_config": "JSON",
                 "variant": "TEXT", "deployable": "INTEGER", "device": "TEXT", "dtype": "TEXT",
                 "batch": "INTEGER", "threads": "INTEGER", "clock": "TEXT", "l2_flush": "INTEGER",
                 "cuda_graph": "INTEGER", "timer": "TEXT", "ms_median": "REAL", "ms_q1": "REAL", "ms_q3": "REAL", "ms_iqr": "REAL",
                 "ms_p90": "REAL", "ms_mean": "REAL", "ms_per_image": "REAL", "rel_iqr": "REAL",
                 "samples": "INTEGER", "calls_per_sample": "INTEGER", "warmup_s": "REAL", "detail": "JSON",
                 "env": "JSON", "measured": "TEXT"},
                ("model_key", "run_id", "variant", "device", "dtype", "batch", "threads", "clock", "l2_flush",
                 "cuda_graph")),
    "layer_latency": ({"op": "TEXT", "cin": "INTEGER", "cout": "INTEGER", "kernel": "INTEGER", "stride": "INTEGER",
                       "groups": "INTEGER", "h": "INTEGER", "w": "INTEGER", "batch": "INTEGER", "dtype": "TEXT",
                       "device": "TEXT", "threads": "INTEGER", "ms_median": "REAL", "ms_iqr": "REAL",
                       "ms_min": "REAL", "samples": "INTEGER", "measured": "TEXT"},
                      ("op", "cin", "cout", "kernel", "stride", "groups", "h", "w", "batch", "dtype", "device",
                       "threads")),
    "latency_layers": ({"model_key": "TEXT", "device": "TEXT", "dtype": "TEXT", "batch": "INTEGER",
                        "threads": "INTEGER", "idx": "INTEGER", "name": "TEXT", "op": "TEXT", "config": "JSON",
                        "table_ms": "REAL", "hook_ms": "REAL"},
                       ("model_key", "device", "dtype", "batch", "threads", "idx")),
    "latency_calibration": (CALIBRATION_COLUMNS, CALIBRATION_KEY),
    "block_study": ({"block": "TEXT", "stage": "INTEGER", "h": "INTEGER", "width": "INTEGER", "batch": "INTEGER",
                     "dtype": "TEXT", "device": "TEXT", "threads": "INTEGER", "flops": "INTEGER",
                     "ms_median": "REAL", "ms_iqr": "REAL", "flops_per_ms": "REAL", "measured": "TEXT"},
                    ("block", "stage", "h", "width", "batch", "dtype", "device", "threads")),
}


def open_store(path: str | Path | None = None):
    """The results store at ``path`` (default: the default sweep's) with the latency tables present."""
    from berth.core.store import Store

    store = Store(Path(path) if path else DEFAULT_STORE)
    for name, (columns, key) in TABLES.items():
        store.ensure_table(name, columns, key)
    return store
