"""HLS results in berth's results store (``berth.core.store``), beside the robustness results.

Tables (created on first use through the store's table API):

``hls_cost``    one row per project: model, scheme, bits, checkpoint, MACs, weight bits,
                bit-operations, weights, memory words at the target's word width, details JSON.
``hls_synth``   one row per project: latency (best/worst cycles), interval, clocks (ns),
                LUT/FF/DSP/BRAM_18K/URAM, available resources JSON.
``hls_inject``  one row per (project, p, chip, n): bit-exact match rate, max difference, argmax
                agreement, hardware and software error on the inputs.

A project's default store is ``DIR/berth/results.sqlite``; pass a sweep's store to keep the
figures beside its robustness results (join on ``checkpoint`` = ``runs.checkpoint``).
"""

from __future__ import annotations

from pathlib import Path

from berth.hardware.hls4ml.project import HlsProject

TABLES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "hls_cost": ({"project": "TEXT", "path": "TEXT", "model": "TEXT", "scheme": "TEXT", "bits": "INTEGER",
                  "checkpoint": "TEXT", "macs": "INTEGER", "weight_bits": "INTEGER", "bops": "INTEGER",
                  "weights": "INTEGER", "code_bits": "INTEGER", "memory_word_bits": "INTEGER",
                  "memory_words": "INTEGER", "detail": "JSON"}, ("project",)),
    "hls_synth": ({"project": "TEXT", "path": "TEXT", "top": "TEXT", "part": "TEXT", "clock_target_ns": "REAL",
                   "clock_estimated_ns": "REAL", "latency_best": "INTEGER", "latency_worst": "INTEGER",
                   "interval_min": "INTEGER", "interval_max": "INTEGER", "lut": "INTEGER", "ff": "INTEGER",
                   "dsp": "INTEGER", "bram_18k": "INTEGER", "uram": "INTEGER", "available": "JSON"}, ("project",)),
    "hls_inject": ({"project": "TEXT", "p": "REAL", "chip": "INTEGER", "n": "INTEGER", "flipped_codes": "INTEGER",
                    "exact_match": "REAL", "max_abs_diff": "REAL", "argmax_agreement": "REAL",
                    "hw_error": "REAL", "sw_error": "REAL"}, ("project", "p", "chip", "n")),
}


def open_store(project: HlsProject, store_path: str | Path | None):
    """The results store (the project's own by default) with the HLS tables present."""
    from berth.core.store import Store

    store = Store(Path(store_path) if store_path else project.berth_dir / "results.sqlite")
    for name, (columns, key) in TABLES.items():
        store.ensure_table(name, columns, key)
    return store


def _ids(project: HlsProject) -> dict:
    return {"project": project.meta["project_id"], "path": str(project.root.resolve())}


def store_cost(project: HlsProject, cost: dict, store_path: str | Path | None = None) -> dict:
    """Write the project's cost estimate (replacing an older row of the same project)."""
    cfg = project.meta["model_config"]
    row = {**_ids(project), "model": cfg["name"], "scheme": cfg["scheme"], "bits": cfg["bits"],
           "checkpoint": project.meta["extra"].get("checkpoint"),
           **{k: cost[k] for k in ("macs", "weight_bits", "bops", "weights", "code_bits", "memory_word_bits",
                                   "memory_words")}, "detail": cost["per_layer"]}
    with open_store(project, store_path) as store:
        store.insert("hls_cost", row, on_conflict="replace")
    return row


def store_synth(project: HlsProject, report: dict, store_path: str | Path | None = None) -> dict:
    """Write the project's parsed synthesis report."""
    row = {**_ids(project), **report}
    with open_store(project, store_path) as store:
        store.insert("hls_synth", row, on_conflict="replace")
    return row


def store_inject(project: HlsProject, results: list, store_path: str | Path | None = None) -> int:
    """Write chip results (``inject.ChipResult``); returns rows written."""
    rows = [{"project": project.meta["project_id"], "p": r.p, "chip": r.chip, "n": r.comparison.n,
             "flipped_codes": r.flipped_codes, "exact_match": r.comparison.exact_match,
             "max_abs_diff": r.comparison.max_abs_diff, "argmax_agreement": r.comparison.argmax_agreement,
             "hw_error": r.comparison.hw_error, "sw_error": r.comparison.sw_error} for r in results]
    with open_store(project, store_path) as store:
        return store.insert("hls_inject", rows, on_conflict="replace")
