"""HLS results in berth's results store (``berth.core.store``), beside the robustness results.

Tables ``hls_cost``, ``hls_synth``, ``hls_synth_modules`` and ``hls_inject`` (declared in ``berth.core.schemas``). A
project's default store here is ``DIR/berth/results.sqlite`` (the ``berth hls`` commands pass the workspace store); pass a sweep's store to keep the figures
beside its robustness results (join on ``checkpoint`` = ``runs.checkpoint``).
"""

from __future__ import annotations

from pathlib import Path

from berth.hardware.hls4ml.project import HlsProject

def open_store(project: HlsProject | None, store_path: str | Path | None):
    """The results store (the project's own by default)."""
    from berth.core.store import Store

    return Store(Path(store_path) if store_path else project.berth_dir / "results.sqlite")


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


def store_synth(project: HlsProject | None, config: str, report: dict, modules: dict[str, tuple[dict, str | None]],
                xml: Path, store_path: str | Path | None = None) -> tuple[dict, list[dict]]:
    """Write a parsed synthesis report (``xml``, parsed by ``berth.hardware.vitis_report``) as the
    ``hls_synth`` row of its top and one ``hls_synth_modules`` row per sub-module (``modules``:
    name → (parsed report, layer)); a report filed again replaces its rows. (top row, module rows)."""
    from berth.hardware.vitis_report import module_row, synth_row

    row = synth_row(report, "hls4ml", config, xml)
    rows = [{**module_row(sub, "hls4ml", config, name, layer), "finished": row["finished"]}
            for name, (sub, layer) in modules.items()]
    with open_store(project, store_path) as store, store.transaction() as db:
        store.insert("hls_synth", row, on_conflict="replace")
        db.execute("DELETE FROM hls_synth_modules WHERE design = ? AND config = ?", ("hls4ml", config))
        store.insert("hls_synth_modules", rows, on_conflict="replace")
    return row, rows


def store_inject(project: HlsProject, results: list, store_path: str | Path | None = None,
                 spec: dict | None = None) -> int:
    """Write chip results (``inject.ChipResult``) under the error model ``spec`` (random flips when
    None; see ``errors_label``), with the project's data, versions, machine and time; returns rows
    written. Each error model keeps its own rows."""
    from berth.core.provenance import machine_info, package_versions
    from berth.core.store import now_utc

    spec = dict(spec or {"kind": "random"})
    meta = project.meta
    common = {"project": meta["project_id"], "errors": errors_label(spec), "spec": spec,
              "data": {k: meta.get(k) for k in ("dataset", "data_seed", "data_dir")}, "versions": package_versions(),
              "machine": machine_info(), "finished": now_utc()}
    rows = [{**common, "p": r.p, "chip": r.chip, "n": r.comparison.n, "flipped_codes": r.flipped_codes,
             "exact_match": r.comparison.exact_match, "max_abs_diff": r.comparison.max_abs_diff,
             "argmax_agreement": r.comparison.argmax_agreement, "hw_error": r.comparison.hw_error,
             "sw_error": r.comparison.sw_error} for r in results]
    with open_store(project, store_path) as store:
        return store.insert("hls_inject", rows, on_conflict="replace")


def errors_label(spec: dict) -> str:
    """A short name of an error model for the store's key: ``random``, ``stuck_at-<value>``, or
    ``profiled-<12 hex>`` hashing its maps' contents and how they are read."""
    import hashlib
    import json

    from berth.data.own import file_sha256

    kind = spec.get("kind", "random")
    if kind == "stuck_at":
        return f"stuck_at-{spec.get('value')}"
    if kind == "profiled":
        maps = [file_sha256(m) for m in spec.get("maps") or []]
        key = json.dumps([maps, spec.get("map_kind"), spec.get("word_width")])
        return f"profiled-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return kind
